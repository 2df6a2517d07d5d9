"""Charset guessing, incremental text decoding and line splitting across chunk borders."""

from __future__ import annotations

import codecs
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wirekit._models import text as text_module
from wirekit._models.decoders import LineDecoder, TextDecoder, guess_encoding
from wirekit._models.text import DEFAULT_MAX_LINE_LENGTH, charset_from_content_type
from wirekit.errors import DecodingError, LimitExceeded


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("text/html; charset=ISO-8859-1", "é".encode(), "iso8859-1"),
        ('text/plain; charset="utf-8"', b"", "utf-8"),
        ("text/plain; charset=shift_jis", b"", "shift_jis"),
        ("text/plain; charset=no-such-codec", b"plain", "utf-8"),
        ("text/plain", codecs.BOM_UTF8 + b"x", "utf-8-sig"),
        (None, codecs.BOM_UTF16_LE + "x".encode("utf-16-le"), "utf-16"),
        (None, codecs.BOM_UTF32_BE + "x".encode("utf-32-be"), "utf-32"),
        (None, "naïve café".encode(), "utf-8"),
        (None, b"", "utf-8"),
    ],
)
def test_guess_encoding_order(content_type: str | None, body: bytes, expected: str) -> None:
    assert guess_encoding(content_type, body) == expected


def test_windows_1252_is_the_last_resort(monkeypatch: pytest.MonkeyPatch) -> None:
    # The WHATWG default for unlabelled text: latin-1 would give U+0092 for "’".
    monkeypatch.setattr(text_module, "_charset_normalizer", lambda: None)
    assert guess_encoding(None, "naïve café".encode("latin-1")) == "cp1252"
    assert guess_encoding(None, "Don’t".encode("cp1252")) == "cp1252"


class _Guess:
    def __init__(self, encoding: str, chaos: float, also: tuple[str, ...] = ()) -> None:
        self.encoding = encoding
        self.chaos = chaos
        self.could_be_from_charset = [encoding, *also]


class _Results(list[_Guess]):
    def best(self) -> _Guess | None:
        return self[0] if self else None


def _detector(*guesses: _Guess) -> Any:
    class FakeDetector:
        @staticmethod
        def from_bytes(sample: bytes) -> _Results:
            assert sample == b"caf\xe9" * 16
            return _Results(guesses)

    return FakeDetector


def test_charset_normalizer_is_asked_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        text_module, "_charset_normalizer", lambda: _detector(_Guess("cp1251", 0.0))
    )
    assert guess_encoding(None, b"caf\xe9" * 16) == "cp1251"
    # too short to judge: not asked, windows-1252 fallback
    assert guess_encoding(None, b"caf\xe9") == "cp1252"


def test_windows_1252_wins_a_near_tie(monkeypatch: pytest.MonkeyPatch) -> None:
    # Short Western-European texts tie between single-byte code pages: the WHATWG default.
    near = _detector(_Guess("cp1250", 0.0), _Guess("cp1252", 0.05))
    monkeypatch.setattr(text_module, "_charset_normalizer", lambda: near)
    assert guess_encoding(None, b"caf\xe9" * 16) == "cp1252"
    # Folded into an equivalent match, cp1252 is only among its possible charsets.
    folded = _detector(_Guess("cp852", 0.0), _Guess("cp1250", 0.03, also=("cp1252",)))
    monkeypatch.setattr(text_module, "_charset_normalizer", lambda: folded)
    assert guess_encoding(None, b"caf\xe9" * 16) == "cp1252"
    far = _detector(_Guess("cp1250", 0.0), _Guess("cp1252", 0.5))
    monkeypatch.setattr(text_module, "_charset_normalizer", lambda: far)
    assert guess_encoding(None, b"caf\xe9" * 16) == "cp1250"


def test_utf8_cut_at_the_sample_end_is_still_utf8() -> None:
    body = b"a" * (64 * 1024 - 1) + "é".encode() + b"tail"
    assert guess_encoding(None, body) == "utf-8"


def test_charset_from_content_type() -> None:
    assert charset_from_content_type("application/json") is None
    assert charset_from_content_type(None) is None
    assert charset_from_content_type("text/html;charset=UTF-8") == "utf-8"


def test_text_decoder_keeps_split_characters_whole() -> None:
    data = "héllo wörld €".encode()
    decoder = TextDecoder("utf-8")
    text = "".join(decoder.decode(data[i : i + 1]) for i in range(len(data))) + decoder.flush()
    assert text == "héllo wörld €"


def test_text_decoder_replaces_by_default_and_strict_names_the_encoding() -> None:
    assert TextDecoder("utf-8").decode(b"a\xffb") == "a\ufffdb"
    strict = TextDecoder("utf-8", errors="strict")
    with pytest.raises(DecodingError, match="utf-8"):
        strict.decode(b"a\xffb")
    truncated = TextDecoder("utf-8", errors="strict")
    truncated.decode(b"\xe2\x82")
    with pytest.raises(DecodingError, match="utf-8"):
        truncated.flush()
    with pytest.raises(DecodingError, match="unknown text encoding 'klingon'"):
        TextDecoder("klingon")


@pytest.mark.parametrize(
    ("chunks", "lines"),
    [
        (["a\nb\n"], ["a", "b"]),
        (["a\r\nb\r\n"], ["a", "b"]),
        (["a\rb\r"], ["a", "b"]),
        (["a\r", "\nb"], ["a", "b"]),  # CRLF split across chunks is one break
        (["a\r", "b"], ["a", "b"]),
        (["par", "tial", " line\n", "next"], ["partial line", "next"]),
        (["\n\n"], ["", ""]),
        (["x\r"], ["x"]),
        (["", "a", ""], ["a"]),
        (["a\x0bb\n"], ["a\x0bb"]),  # only \r, \n and \r\n break lines
    ],
)
def test_line_decoder(chunks: list[str], lines: list[str]) -> None:
    decoder = LineDecoder()
    got: list[str] = []
    for chunk in chunks:
        got.extend(decoder.decode(chunk))
    got.extend(decoder.flush())
    assert got == lines


def test_line_decoder_max_line_length() -> None:
    assert DEFAULT_MAX_LINE_LENGTH == 1 << 20
    decoder = LineDecoder(max_line_length=10)
    assert decoder.decode("0123456789\n") == ["0123456789"]
    decoder.decode("01234")
    with pytest.raises(LimitExceeded) as info:
        decoder.decode("567890")
    assert info.value.limit == "max_line_length"
    with pytest.raises(LimitExceeded, match="max_line_length"):
        LineDecoder(max_line_length=3).decode("abcd\n")


@settings(deadline=None)
@given(
    lines=st.lists(st.text(alphabet=st.characters(blacklist_characters="\r\n"), max_size=8)),
    ending=st.sampled_from(["\n", "\r\n", "\r"]),
    cuts=st.lists(st.integers(0, 40), max_size=6),
)
def test_any_chunking_gives_the_same_lines(lines: list[str], ending: str, cuts: list[int]) -> None:
    text = "".join(line + ending for line in lines)
    decoder = LineDecoder()
    got: list[str] = []
    position = 0
    for cut in cuts:
        got.extend(decoder.decode(text[position : position + cut]))
        position += cut
    got.extend(decoder.decode(text[position:]))
    got.extend(decoder.flush())
    assert got == lines


def test_line_decoder_hands_a_line_over_as_its_ending_arrives() -> None:
    decoder = LineDecoder()
    assert decoder.decode("data: 1\r") == ["data: 1"]  # not held for a "\n" that may follow
    assert decoder.decode("\r") == [""]  # the empty line ending an SSE event, at once
    assert decoder.decode("\n") == []  # the rest of a "\r\n" split across chunks
    assert decoder.decode("x\n") == ["x"]
    assert decoder.flush() == []


def test_line_decoder_hands_over_complete_lines_before_an_overlong_one() -> None:
    decoder = LineDecoder(max_line_length=5)
    assert decoder.decode("ab\ncd\n0123456789") == ["ab", "cd"]
    with pytest.raises(LimitExceeded):
        decoder.flush()

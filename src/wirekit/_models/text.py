"""Text from bytes: pick a body's charset, decode it incrementally, split it into lines.

Used by ``Response.text``/``iter_text``/``iter_lines`` on the client and by request parsing on
the server. Pure functions and small state objects; no I/O.
"""

from __future__ import annotations

import codecs
from typing import Any

from wirekit.errors import DecodingError, LimitExceeded


def _charset_normalizer() -> Any:
    """The optional detector, imported on first need (it costs ~15 ms to import)."""
    try:
        import charset_normalizer  # type: ignore[import-not-found, unused-ignore]
    except ImportError:  # pragma: no cover - only where the package is absent
        return None
    return charset_normalizer


__all__ = [
    "DEFAULT_MAX_LINE_LENGTH",
    "LineDecoder",
    "TextDecoder",
    "charset_from_content_type",
    "guess_encoding",
]

#: Longest line ``LineDecoder`` holds before raising: 1 MiB of text. Server-sent events and
#: NDJSON lines are far shorter; a peer that never sends a newline must not grow us forever.
DEFAULT_MAX_LINE_LENGTH = 1 << 20

#: Bytes handed to charset detection: enough for a reliable guess, bounded in cost.
_DETECT_BYTES = 64 * 1024
#: Shortest body worth a statistical guess: below it charset-normalizer's answers are noise
#: (measured: the Latin-1 bytes of "naïve café" came back as cp1006).
_MIN_DETECT_BYTES = 64
#: How much more "chaos" (charset-normalizer's mess score, 0-1) windows-1252 may show than
#: the best guess and still be preferred (see guess_encoding).
_CP1252_SLACK = 0.1
#: Python's own text codecs, which are no charset a peer may declare (codecs.lookup names):
#: they raise a bare UnicodeError ("undefined", "idna"), turn the body's backslash escapes
#: into other characters ("unicode-escape"), or depend on the machine ("mbcs", "oem").
_NOT_CHARSETS = frozenset(
    {
        "charmap",
        "idna",
        "mbcs",
        "oem",
        "punycode",
        "raw-unicode-escape",
        "undefined",
        "unicode-escape",
    }
)


def charset_from_content_type(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type value, if it names a known codec."""
    if not content_type:
        return None
    from email.message import Message  # on demand: a heavy import for one parse

    message = Message()
    message["content-type"] = content_type
    charset = message.get_param("charset")
    if not isinstance(charset, str) or not charset:
        return None
    charset = charset.strip().strip('"').lower()
    try:
        info = codecs.lookup(charset)
    except LookupError:
        return None
    # "hex", "base64", "zlib", "rot13"... are codecs but not text encodings: unknown here.
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    return info.name


#: The byte-order marks ``bom_encoding`` knows.
BYTE_ORDER_MARKS = (
    codecs.BOM_UTF8,
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
)


def decoding_codec(encoding: str) -> str:
    """The codec to decode text declared as ``encoding`` with: UTF-8 drops a leading
    byte-order mark (``utf-8-sig``), as WHATWG decoding does (.NET and PowerShell servers
    send one with ``charset=utf-8``). Raises LookupError for an unknown encoding."""
    return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding


def bom_encoding(data: bytes) -> str | None:
    """The encoding a byte-order mark at the start of ``data`` names (it is explicit about
    itself), one that also drops the mark; None without one. Needs the first 4 bytes."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def guess_encoding(content_type: str | None, body: bytes) -> str:
    """The encoding to decode ``body`` with, in this order:

    1. the ``charset`` of the Content-Type header, when it names a known codec;
    2. a byte-order mark (UTF-8, UTF-16, UTF-32): it is explicit about itself;
    3. ``utf-8`` when the (first 64 KiB of the) body is valid UTF-8, or mostly: valid
       multi-byte characters at least twice as many as bad bytes (a stray windows-1252
       quote pasted in, a character cut by the end of a Range or of the sample);
    4. ``charset-normalizer``'s best guess, when that package is installed and the body
       has at least 64 bytes to judge from; windows-1252 (the WHATWG default for unlabelled
       text) when it decodes the sample about as well: short Western-European texts tie
       between several single-byte code pages, and the guess picked cp1250 for French;
    5. windows-1252 (decoded with errors="replace", it never raises).
    """
    declared = charset_from_content_type(content_type)
    if declared is not None:
        return declared
    marked = bom_encoding(body)
    if marked is not None:
        return marked
    sample = body[:_DETECT_BYTES]
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the 64 KiB sample end is still valid UTF-8.
        if len(body) > _DETECT_BYTES and exc.start >= len(sample) - 3:
            return "utf-8"
        if _mostly_utf8(sample):
            return "utf-8"
    detector = _charset_normalizer() if len(sample) >= _MIN_DETECT_BYTES else None
    if detector is not None:
        matches = detector.from_bytes(sample)
        best = matches.best()
        if best is not None:
            for match in matches:
                # charset-normalizer folds windows-1252 into an equivalent match (cp1250,
                # say) and names it among the match's other possible charsets only.
                if (
                    match.encoding == "cp1252" or "cp1252" in match.could_be_from_charset
                ) and match.chaos <= best.chaos + _CP1252_SLACK:
                    return "cp1252"
            return str(best.encoding)
    # windows-1252, the WHATWG default for unlabelled text: latin-1 with ’ “ ” – — € where
    # latin-1 has invisible C1 controls. Its five unassigned bytes become U+FFFD (.text
    # decodes with errors="replace"), so this never raises either.
    return "cp1252"


def _mostly_utf8(sample: bytes) -> bool:
    """UTF-8 with a few bad bytes (a pasted windows-1252 quote, a character cut at the end
    of a Range or of the sample): valid multi-byte characters at least twice as many as
    the bytes that are not. Latin-1 or windows-1252 text almost never forms a valid UTF-8
    sequence (an accented letter followed by a byte of 0x80-0xBF), so one that is mostly
    valid UTF-8 is UTF-8."""
    text = sample.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - sample.count(b"\xef\xbf\xbd")  # U+FFFD sent as such
    multibyte = len(text) - len(text.encode("ascii", "ignore")) - bad
    return bad > 0 and multibyte >= 2 * bad


class TextDecoder:
    """Incremental bytes-to-str decoding: characters split across chunks are kept whole.

    ``errors="replace"`` by default, as browsers do; pass ``"strict"`` to get a
    :class:`DecodingError` naming the encoding instead.
    """

    def __init__(self, encoding: str = "utf-8", *, errors: str = "replace") -> None:
        try:
            factory = codecs.getincrementaldecoder(decoding_codec(encoding))
        except LookupError as exc:
            raise DecodingError(f"unknown text encoding {encoding!r}") from exc
        self.encoding = encoding
        self._decoder = factory(errors=errors)

    def decode(self, data: bytes) -> str:
        try:
            return self._decoder.decode(data)
        except UnicodeError as exc:  # not only UnicodeDecodeError: "idna" raises the base
            raise DecodingError(f"body is not valid {self.encoding}: {exc}") from exc

    def flush(self) -> str:
        try:
            return self._decoder.decode(b"", final=True)
        except UnicodeError as exc:
            raise DecodingError(f"body is not valid {self.encoding}: {exc}") from exc


class LineDecoder:
    """Split text chunks into lines on ``\\n``, ``\\r\\n`` or ``\\r``, across chunk borders.

    Lines are returned without their ending, each as soon as its ending arrives: a ``\\r``
    ends a line at once (an SSE event ending in ``\\r\\r`` is not held back), and a
    ``\\n`` that starts the next chunk is then taken as the rest of a split ``\\r\\n``.
    A line over ``max_line_length`` raises ``LimitExceeded`` after the complete lines
    before it were handed over, however the chunks were cut.
    """

    def __init__(self, *, max_line_length: int = DEFAULT_MAX_LINE_LENGTH) -> None:
        if max_line_length < 1:
            raise ValueError(f"max_line_length must be at least 1, got {max_line_length}")
        self.max_line_length = max_line_length
        self._buffer: list[str] = []
        self._buffered = 0
        self._skip_lf = False  # the last chunk ended in "\r": a "\n" next belongs to it
        self._failure: LimitExceeded | None = None  # raised at the next call

    def decode(self, text: str) -> list[str]:
        self._raise_pending()
        if not text:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if text.startswith("\n"):
                text = text[1:]
                if not text:
                    return []
        self._skip_lf = text.endswith("\r")
        # str.splitlines also splits on \x0b, \x0c, \x1c-\x1e, \x85, \u2028...; HTTP text
        # streams (SSE, NDJSON) only know \r, \n and \r\n, so normalise and split on \n.
        pieces = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if len(pieces) == 1:
            self._hold(pieces[0])
            self._raise_pending()
            return []
        lines = ["".join([*self._buffer, pieces[0]]), *pieces[1:-1]]
        self._buffer = []
        self._buffered = 0
        for index, line in enumerate(lines):
            if len(line) > self.max_line_length:
                self._failure = self._too_long()
                lines = lines[:index]  # the complete lines before it first
                break
        else:
            self._hold(pieces[-1])
        if not lines:
            self._raise_pending()  # nothing to hand over first: at once
        return lines

    def _hold(self, text: str) -> None:
        if text:
            self._buffer.append(text)
            self._buffered += len(text)
            if self._buffered > self.max_line_length:
                self._buffer = []  # not kept: the limit bounds memory too
                self._buffered = 0
                self._failure = self._too_long()

    def _too_long(self) -> LimitExceeded:
        return LimitExceeded(
            f"line of over {self.max_line_length} characters without a line break "
            f"(max_line_length)",
            limit="max_line_length",
            value=self.max_line_length,
        )

    def _raise_pending(self) -> None:
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    def flush(self) -> list[str]:
        self._raise_pending()
        lines: list[str] = []
        if self._buffer:
            lines.append("".join(self._buffer))
        self._buffer = []
        self._buffered = 0
        self._skip_lf = False
        return lines

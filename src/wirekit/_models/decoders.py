"""Incremental ``Content-Encoding`` decoders with decompression-bomb limits.

Each decoder takes compressed chunks (``decode``) and an end-of-body call (``flush``). Output
per internal step is bounded, so a bomb is stopped before it allocates past the limit.
Text helpers (charset guessing, line splitting) live in ``text.py`` and are re-exported here.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any, Protocol

from wirekit._models.text import (
    LineDecoder,
    TextDecoder,
    charset_from_content_type,
    guess_encoding,
)
from wirekit.errors import DecodingError, DecompressionLimitError

try:  # optional: "pip install wirekit[brotli]"
    import brotli
except ImportError:  # pragma: no cover - exercised only where brotli is absent
    brotli = None

try:  # optional: "pip install wirekit[zstd]"
    import zstandard
except ImportError:  # pragma: no cover - exercised only where zstandard is absent
    zstandard = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_MAX_DECODED_BYTES",
    "DEFAULT_MAX_RATIO",
    "RATIO_GRACE_BYTES",
    "ContentDecoder",
    "DecodeLimits",
    "LineDecoder",
    "TextDecoder",
    "accept_encoding",
    "charset_from_content_type",
    "guess_encoding",
    "make_decoder",
    "supported_encodings",
]

#: Largest decoded body accepted: 1 GiB. Bigger than any sane compressed API response or
#: page, small enough that a bomb cannot exhaust a typical server's memory.
DEFAULT_MAX_DECODED_BYTES = 1 << 30
#: Largest decoded/encoded size ratio accepted once past ``RATIO_GRACE_BYTES``. Real text
#: compresses 3-20x with gzip/brotli; 100x leaves room for repetitive JSON while a bomb
#: (gzip of zeros is ~1000x, zstd ~30000x) is caught early.
DEFAULT_MAX_RATIO = 100.0
#: Output allowed before the ratio is checked: tiny bodies of zeros are legitimately above
#: 100x and harmless.
RATIO_GRACE_BYTES = 1 << 20
#: Output produced per internal decompression step: bounds memory between limit checks.
_STEP = 64 * 1024
#: zstd's worst case (an RLE block: 4 input bytes -> 128 KiB) bounds what one input byte can
#: expand to, so feeding input in slices of budget/this keeps each step within the budget.
_ZSTD_MAX_EXPANSION = 32_768


class ContentDecoder(Protocol):
    """What every decoder offers: feed chunks, then flush once at end of body."""

    def decode(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


class DecodeLimits:
    """Counts input and output of one decoding layer and raises past either limit.

    ``total``: the limits of the whole body when this layer is one of several stacked
    codings (``gzip, br``): the layer's output is held to them too, as it is produced, so an
    inner layer cannot build its whole output before the total is checked."""

    __slots__ = ("decoded", "encoded", "encoding", "max_decoded_bytes", "max_ratio", "total")

    def __init__(
        self,
        encoding: str,
        *,
        max_decoded_bytes: int,
        max_ratio: float,
        total: DecodeLimits | None = None,
    ) -> None:
        self.encoding = encoding
        self.max_decoded_bytes = max_decoded_bytes
        self.max_ratio = max_ratio
        self.total = total
        self.encoded = 0
        self.decoded = 0

    def _room(self, decoded: int) -> int:
        by_size = self.max_decoded_bytes - decoded
        by_ratio = max(RATIO_GRACE_BYTES, int(self.encoded * self.max_ratio)) - decoded
        return min(by_size, by_ratio)

    def budget(self) -> int:
        """Bytes that may still be produced right now without breaking a limit."""
        room = self._room(self.decoded)
        if self.total is not None:
            room = min(room, self.total._room(self.decoded))
        return max(0, room)

    def count(self, produced: int) -> None:
        self.decoded += produced
        self.check(self.decoded)
        if self.total is not None:
            self.total.check(self.decoded)

    def check(self, decoded: int) -> None:
        """Raise if ``decoded`` bytes out of ``self.encoded`` break a limit."""
        if decoded > self.max_decoded_bytes:
            raise DecompressionLimitError(
                f"{self.encoding} body decoded to more than max_decoded_bytes="
                f"{self.max_decoded_bytes} bytes (from {self.encoded} encoded bytes)"
            )
        if decoded > RATIO_GRACE_BYTES and decoded > self.encoded * self.max_ratio:
            raise DecompressionLimitError(
                # Named as the client's option (Client(max_decompression_ratio=)).
                f"{self.encoding} body expanded more than max_decompression_ratio="
                f"{self.max_ratio:g}x "
                f"({self.encoded} encoded bytes gave over {decoded} bytes)"
            )


class IdentityDecoder:
    def decode(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


class _ZlibDecoder:
    """gzip (multi-member, RFC 1952 §2.2) and deflate (zlib-wrapped or raw)."""

    def __init__(self, encoding: str, limits: DecodeLimits) -> None:
        self._encoding = encoding
        self._limits = limits
        self._gzip = encoding == "gzip"
        self._head = b""  # deflate: bytes held until the 2-byte zlib header can be checked
        self._next_member = b""  # gzip: start of a next member, held until 2 bytes are in
        self._object: Any = zlib.decompressobj(16 + zlib.MAX_WBITS) if self._gzip else None
        self._fed = False  # any input at all (flush() tells a truncated stream from none)
        # Bytes after the last gzip member that are no gzip header: ignored to the end, in
        # whatever pieces they arrive (a later piece starting 1f 8b is not a new member).
        self._ignoring = False

    def decode(self, data: bytes) -> bytes:
        if data:
            self._fed = True
        if self._ignoring:
            self._limits.encoded += len(data)
            return b""
        if self._object is None:
            self._head += data
            if len(self._head) < 2:
                return b""
            data, self._head = self._head, b""
            # RFC 1950 §2.2: CM=8 and the header checksum make a zlib stream; anything else
            # is raw deflate, which servers send under "deflate" (the old IIS bug) and
            # browsers accept, so we do too.
            wrapped = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._object = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        out: list[bytes] = []
        pending = self._next_member + data if self._next_member else data
        self._next_member = b""
        while pending:
            if self._object.eof:
                # Multi-member gzip: a new member follows. Trailing garbage (not a gzip
                # header) is ignored, as browsers and curl do.
                if self._gzip and len(pending) < 2 and b"\x1f\x8b".startswith(pending):
                    self._next_member = pending  # wait for the rest of the magic number
                    break
                if not self._gzip or not pending.startswith(b"\x1f\x8b"):
                    self._ignoring = True
                    self._limits.encoded += len(pending)
                    break
                self._object = zlib.decompressobj(16 + zlib.MAX_WBITS)
            pending = self._run(pending, out)
        return b"".join(out)

    def _run(self, pending: bytes, out: list[bytes]) -> bytes:
        limits = self._limits
        while True:
            step = min(_STEP, limits.budget() + 1)
            try:
                chunk = self._object.decompress(pending, step)
            except zlib.error as exc:
                raise DecodingError(f"corrupt {self._encoding} data: {exc}") from exc
            # Only input the decompressor took counts toward the ratio: crediting a whole
            # network read up front made the verdict depend on how big the reads were.
            rest = self._object.unconsumed_tail
            unused = self._object.unused_data if self._object.eof else b""
            limits.encoded += len(pending) - len(rest) - len(unused)
            if chunk:
                limits.count(len(chunk))
                out.append(chunk)
            pending = rest
            if self._object.eof:
                return unused
            if not pending and len(chunk) < step:
                return b""

    def flush(self) -> bytes:
        if self._head:
            raise DecodingError(f"truncated {self._encoding} data: the stream ended early")
        if self._object is None:
            return b""
        if not self._object.eof and self._fed:
            raise DecodingError(f"truncated {self._encoding} data: the stream ended early")
        try:
            rest: bytes = self._object.flush()
        except zlib.error as exc:  # pragma: no cover - flush rarely fails after decompress
            raise DecodingError(f"corrupt {self._encoding} data: {exc}") from exc
        self._limits.count(len(rest))
        return rest


def _brotli_usable() -> bool:
    """brotli is installed and new enough (1.2) for a bounded output per step: older ones
    have no ``output_buffer_limit``, so one call could expand a bomb whole. Without it, br
    is not offered in Accept-Encoding."""
    return brotli is not None and hasattr(brotli.Decompressor, "can_accept_more_data")


class _BrotliDecoder:
    """brotli (RFC 7932), with the library's output limit so a step stays bounded."""

    def __init__(self, limits: DecodeLimits) -> None:
        if brotli is None:  # pragma: no cover
            raise DecodingError("br content: the 'brotli' package is not installed")
        if not _brotli_usable():
            version = getattr(brotli, "__version__", "?")
            raise DecodingError(
                f"br content: brotli {version} is too old to decode within the size limits "
                "(1.2 or later is needed: pip install 'brotli>=1.2')"
            )
        self._limits = limits
        self._object = brotli.Decompressor()

    def decode(self, data: bytes) -> bytes:
        limits = self._limits
        limits.encoded += len(data)
        out: list[bytes] = []
        feed = data
        while True:
            try:
                chunk = self._object.process(feed, output_buffer_limit=_STEP)
            except brotli.error as exc:
                raise DecodingError(f"corrupt br data: {exc}") from exc
            feed = b""
            if not chunk:
                break
            limits.count(len(chunk))
            out.append(chunk)
            # Output may be pending even after a short step: brotli hands over one block
            # per call when its input ends mid-stream (a flushed record), so it is asked
            # again until it has nothing more.
            if self._object.is_finished():
                break
        return b"".join(out)

    def flush(self) -> bytes:
        if not self._object.is_finished() and self._limits.encoded:
            raise DecodingError("truncated br data: the stream ended early")
        return b""


class _ZstdDecoder:
    """zstd (RFC 8878), multi-frame. zstandard's decompressobj has no output cap, so input is
    fed in slices small enough that even the format's worst expansion fits the budget."""

    def __init__(self, limits: DecodeLimits) -> None:
        if zstandard is None:  # pragma: no cover
            raise DecodingError("zstd content: the 'zstandard' package is not installed")
        self._limits = limits
        self._object = zstandard.ZstdDecompressor().decompressobj()
        self._in_frame = False

    def decode(self, data: bytes) -> bytes:
        limits = self._limits
        out: list[bytes] = []
        view = memoryview(data)
        while view:
            if self._object.eof:
                self._object = zstandard.ZstdDecompressor().decompressobj()
            size = max(8, limits.budget() // _ZSTD_MAX_EXPANSION)
            piece = bytes(view[:size])
            limits.encoded += len(piece)
            try:
                chunk = self._object.decompress(piece)
            except zstandard.ZstdError as exc:
                raise DecodingError(f"corrupt zstd data: {exc}") from exc
            self._in_frame = not self._object.eof
            unused = self._object.unused_data if self._object.eof else b""
            view = view[len(piece) - len(unused) :]
            limits.encoded -= len(unused)
            if chunk:
                limits.count(len(chunk))
                out.append(chunk)
        return b"".join(out)

    def flush(self) -> bytes:
        if self._in_frame:
            raise DecodingError("truncated zstd data: the stream ended inside a frame")
        return b""


class _StackedDecoder:
    """Several encodings: ``Content-Encoding: gzip, br`` was applied gzip first, so it is
    decoded br first (RFC 9110 §8.4)."""

    def __init__(self, layers: Sequence[ContentDecoder], total: DecodeLimits) -> None:
        self._layers = layers
        self._total = total

    def decode(self, data: bytes) -> bytes:
        # Every layer's output is held to the total limits as it is produced (see
        # DecodeLimits.total): no layer builds more than the whole body may decode to.
        self._total.encoded += len(data)
        for layer in self._layers:
            data = layer.decode(data)
        return data

    def flush(self) -> bytes:
        data = b""
        for layer in self._layers:
            data = layer.decode(data) + layer.flush() if data else layer.flush()
        return data


def supported_encodings() -> list[str]:
    """Content codings this installation can decode, preferred first."""
    names = ["gzip", "deflate"]
    if _brotli_usable():
        names.append("br")
    if zstandard is not None:
        names.append("zstd")
    return names


def accept_encoding() -> str:
    """The ``Accept-Encoding`` value for what is installed, e.g. ``"gzip, deflate, br, zstd"``."""
    return ", ".join(supported_encodings())


def make_decoder(
    content_encoding: str | Sequence[str] | None,
    *,
    max_decoded_bytes: int | None = DEFAULT_MAX_DECODED_BYTES,
    max_ratio: float | None = DEFAULT_MAX_RATIO,
) -> ContentDecoder:
    """A decoder for a ``Content-Encoding`` value (``None``/``""``: identity).

    ``content_encoding`` may be one header value (``"gzip, br"``) or the list of every
    Content-Encoding field (``headers.get_list(...)``). ``None`` limits mean the defaults.

    Unknown codings raise :class:`DecodingError` naming them (RFC 9110 §8.4.1: the body
    cannot be understood, so handing back compressed bytes as if decoded would be wrong).
    """
    if max_decoded_bytes is None:
        max_decoded_bytes = DEFAULT_MAX_DECODED_BYTES
    if max_ratio is None:
        max_ratio = DEFAULT_MAX_RATIO
    if content_encoding is None or isinstance(content_encoding, str):
        content_encoding = content_encoding or ""
    else:
        content_encoding = ", ".join(content_encoding)
    names = [n.strip().lower() for n in content_encoding.split(",")]
    names = [n for n in names if n and n != "identity"]
    layers: list[ContentDecoder] = []
    total = (
        DecodeLimits(content_encoding, max_decoded_bytes=max_decoded_bytes, max_ratio=max_ratio)
        if len(names) > 1
        else None
    )
    for name in reversed(names):
        limits = DecodeLimits(
            name, max_decoded_bytes=max_decoded_bytes, max_ratio=max_ratio, total=total
        )
        if name in ("gzip", "x-gzip"):
            layers.append(_ZlibDecoder("gzip", limits))
        elif name == "deflate":
            layers.append(_ZlibDecoder("deflate", limits))
        elif name == "br" and brotli is not None:
            layers.append(_BrotliDecoder(limits))
        elif name == "zstd" and zstandard is not None:
            layers.append(_ZstdDecoder(limits))
        else:
            raise DecodingError(
                f"unsupported Content-Encoding {name!r} (can decode: {accept_encoding()})"
            )
    if not layers:
        return IdentityDecoder()
    if total is None:
        return layers[0]
    return _StackedDecoder(layers, total)

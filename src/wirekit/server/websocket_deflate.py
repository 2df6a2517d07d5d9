"""WebSocket permessage-deflate (RFC 7692) for the server: offer negotiation and a wsproto
extension that inflates within the message size limit.

wsproto's own ``PerMessageDeflate`` inflates each received chunk whole, so a small frame of
compressed zeros could grow a thousandfold before any size check; this one never inflates
more than the bytes the message may still hold, plus one.
"""

from __future__ import annotations

import sys
import zlib
from dataclasses import dataclass

from wsproto.extensions import Extension
from wsproto.frame_protocol import CloseReason, FrameDecoder, FrameProtocol, Opcode, RsvBits

__all__ = [
    "EXTENSION_NAME",
    "SERVER_MAX_WINDOW_BITS",
    "DeflateParameters",
    "PerMessageDeflate",
    "negotiate",
]

EXTENSION_NAME = "permessage-deflate"
#: Largest LZ77 window we compress with and ask clients to compress with: 4 KiB instead of
#: 32 KiB, with zlib memLevel 5 below. Measured with tracemalloc: 38 KiB for the deflater
#: instead of 262 KiB, so about 50 KiB per connection in all instead of about 300 KiB
#: (the websockets library's server defaults, for the same reason).
SERVER_MAX_WINDOW_BITS = 12
CLIENT_MAX_WINDOW_BITS = 12
COMPRESS_MEMORY_LEVEL = 5
#: RFC 7692 §7.2.1: a compressed message ends with this empty stored block, which the
#: sender strips and the receiver appends back.
_TAIL = b"\x00\x00\xff\xff"


@dataclass(frozen=True, slots=True)
class DeflateParameters:
    """What both sides agreed on for one connection."""

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int = SERVER_MAX_WINDOW_BITS
    #: The window the client compresses with: 15 unless it offered to limit it.
    client_max_window_bits: int = 15


def _window_bits(value: str | None, *, required: bool) -> int | None:
    """A max_window_bits value (RFC 7692 §7.1.2: 8 to 15, maybe quoted), or None if bad."""
    if value is None:
        return None if required else 15
    value = value.strip('"')
    # isascii(): str.isdigit() also accepts "²" and friends, which int() then refuses.
    if not (value.isascii() and value.isdigit()) or len(value) > 2 or not 8 <= int(value) <= 15:
        return None
    return int(value)


def _accept_offer(offer: str) -> tuple[str, DeflateParameters] | None:
    """Our answer to one permessage-deflate offer, or None to decline it (RFC 7692 §7.1)."""
    params: dict[str, str | None] = {}
    for part in offer.split(";")[1:]:
        key, equals, text = part.partition("=")
        key = key.strip()
        if not key or key in params:
            return None  # a parameter given twice: §7 says decline
        params[key] = text.strip() if equals else None
    server_no_context_takeover = client_no_context_takeover = False
    server_bits = SERVER_MAX_WINDOW_BITS
    client_bits = 15
    answer = [EXTENSION_NAME]
    for name, value in params.items():
        if name in ("server_no_context_takeover", "client_no_context_takeover"):
            if value is not None:
                return None
            answer.append(name)
            if name == "server_no_context_takeover":
                server_no_context_takeover = True
            else:
                client_no_context_takeover = True
        elif name == "server_max_window_bits":
            offered = _window_bits(value, required=True)
            # zlib cannot deflate with an 8-bit raw window; we may not answer with more.
            if offered is None or offered == 8:
                return None
            server_bits = min(offered, SERVER_MAX_WINDOW_BITS)
            answer.append(f"server_max_window_bits={server_bits}")
        elif name == "client_max_window_bits":
            offered = _window_bits(value, required=False)
            if offered is None:
                return None
            client_bits = min(offered, CLIENT_MAX_WINDOW_BITS)
            answer.append(f"client_max_window_bits={client_bits}")
        else:
            return None  # an unknown parameter: §7 says decline
    parameters = DeflateParameters(
        server_no_context_takeover=server_no_context_takeover,
        client_no_context_takeover=client_no_context_takeover,
        server_max_window_bits=server_bits,
        client_max_window_bits=client_bits,
    )
    return "; ".join(answer), parameters


def negotiate(header_values: list[bytes]) -> tuple[str, DeflateParameters] | None:
    """The ``Sec-WebSocket-Extensions`` answer and parameters for the first acceptable
    permessage-deflate offer among the request's header values, or None."""
    for value in header_values:
        for offer in value.decode("latin-1").split(","):
            if offer.split(";", 1)[0].strip() != EXTENSION_NAME:
                continue
            accepted = _accept_offer(offer)
            if accepted is not None:
                return accepted
    return None


class PerMessageDeflate(Extension):
    """Server side of permessage-deflate, refusing messages that inflate past a limit."""

    name = EXTENSION_NAME

    def __init__(self, parameters: DeflateParameters, *, max_message_bytes: int) -> None:
        self.parameters = parameters
        self.max_message_bytes = max_message_bytes
        self.inflater: zlib._Decompress | None = None
        self.deflater: zlib._Compress | None = None
        #: Whether the message being received is compressed (RSV1 on its first frame).
        self.inbound_compressed = False
        #: Whether the frame being received is a data frame (not a control frame).
        self.inbound_data = False
        #: Bytes inflated so far for the message being received.
        self.inflated = 0

    def enabled(self) -> bool:
        return True

    def offer(self) -> bool:
        return False  # server side only: we answer offers, never make one

    # -- receiving -------------------------------------------------------------------------
    # wsproto may call frame_inbound_header twice for one frame (when the masking key has
    # not arrived yet), so it only sets state, never accumulates.
    def frame_inbound_header(
        self,
        proto: FrameDecoder | FrameProtocol,
        opcode: Opcode,
        rsv: RsvBits,
        payload_length: int,
    ) -> CloseReason | RsvBits:
        if opcode.iscontrol():
            # Control frames are never compressed (§6.1) and may sit between the fragments
            # of a compressed message: keep that message's state.
            if rsv.rsv1:
                return CloseReason.PROTOCOL_ERROR
            self.inbound_data = False
        elif opcode is Opcode.CONTINUATION:
            if rsv.rsv1:  # RSV1 marks only a message's first frame (§6.1)
                return CloseReason.PROTOCOL_ERROR
            self.inbound_data = True
        else:
            self.inbound_data = True
            self.inbound_compressed = rsv.rsv1
            self.inflated = 0
        return RsvBits(True, False, False)

    def _inflate(self, data: bytes, *, payload: bool = True) -> bytes | CloseReason:
        if self.inflater is None:
            # A larger window than the client uses is always safe; zlib wants at least 9.
            self.inflater = zlib.decompressobj(-max(9, self.parameters.client_max_window_bits))
        room = self.max_message_bytes - self.inflated
        try:
            # max_length bounds the output: a compression bomb is stopped after room + 1
            # bytes, whatever the input holds (the rest is left in unconsumed_tail).
            inflated = self.inflater.decompress(data, min(room + 1, sys.maxsize))
        except zlib.error:
            return CloseReason.INVALID_FRAME_PAYLOAD_DATA
        if payload and self.inflater.unused_data:
            # Message bytes after a final deflate block (BFINAL, RFC 7692 §7.2.3.4 allows
            # one only at the end) would be dropped silently: the message is refused.
            self.inflater = None
            return CloseReason.INVALID_FRAME_PAYLOAD_DATA
        self.inflated += len(inflated)
        if self.inflated > self.max_message_bytes:
            self.inflater = None
            return CloseReason.MESSAGE_TOO_BIG
        return inflated

    def frame_inbound_payload_data(
        self, proto: FrameDecoder | FrameProtocol, data: bytes
    ) -> bytes | CloseReason:
        if not (self.inbound_data and self.inbound_compressed):
            return data
        return self._inflate(data)

    def frame_inbound_complete(
        self, proto: FrameDecoder | FrameProtocol, fin: bool
    ) -> bytes | CloseReason | None:
        if not self.inbound_data or not fin:
            return None
        compressed, self.inbound_compressed = self.inbound_compressed, False
        if not compressed:
            return None
        tail = self._inflate(_TAIL, payload=False)  # after a BFINAL block it is left over
        inflater = self.inflater
        # A final deflate block (BFINAL) ends the stream: the next message starts a new one.
        if self.parameters.client_no_context_takeover or (inflater is not None and inflater.eof):
            self.inflater = None
        return tail

    # -- sending ---------------------------------------------------------------------------
    def frame_outbound(
        self,
        proto: FrameDecoder | FrameProtocol,
        opcode: Opcode,
        rsv: RsvBits,
        data: bytes,
        fin: bool,
    ) -> tuple[RsvBits, bytes]:
        if opcode.iscontrol():
            return rsv, data
        if opcode is not Opcode.CONTINUATION:
            rsv = RsvBits(True, rsv.rsv2, rsv.rsv3)
        if self.deflater is None:
            self.deflater = zlib.compressobj(
                zlib.Z_DEFAULT_COMPRESSION,
                zlib.DEFLATED,
                -self.parameters.server_max_window_bits,
                COMPRESS_MEMORY_LEVEL,
            )
        data = self.deflater.compress(data)
        if fin:
            data += self.deflater.flush(zlib.Z_SYNC_FLUSH)
            data = data.removesuffix(_TAIL)
            if self.parameters.server_no_context_takeover:
                self.deflater = None
        return rsv, data

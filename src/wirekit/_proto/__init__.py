"""Sans-IO protocol state machines: bytes in, events out. Never imports socket/ssl/asyncio."""

"""The only code that touches sockets: blocking (sync) and asyncio network backends."""

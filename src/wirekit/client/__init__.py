"""The HTTP client: sans-IO flows, connection pool and connections, sync and async."""

"""Data models shared by client and server: headers, URLs, cookies, bodies, decoders."""

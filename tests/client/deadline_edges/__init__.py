"""The total deadline and phase naming at their edges: slow DNS, SOCKS, TLS, redirects,
transports used alone (found by a review; each test failed before its fix)."""

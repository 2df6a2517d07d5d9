"""Redirects, retries, auth, netrc and client settings at their edges (found by a review; each test failed before its fix)."""

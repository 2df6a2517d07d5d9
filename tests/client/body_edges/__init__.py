"""Response bodies at their edges: decoding limits, charsets, closing (found by a review; each test failed before its fix)."""

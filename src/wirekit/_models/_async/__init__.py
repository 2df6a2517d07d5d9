"""A response body's iterators (the async tree is the source; the sync tree is generated from it)."""

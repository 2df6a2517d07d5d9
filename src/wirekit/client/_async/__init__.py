"""Client internals (the async tree is the source; the sync tree is generated from it)."""

"""``_io`` code written once: the async tree is the source; the sync tree is generated from it."""

"""descend.pictures."""

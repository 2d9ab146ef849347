"""descend.problems."""

"""descend.descent."""

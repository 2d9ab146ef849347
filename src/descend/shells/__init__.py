"""descend.shells."""

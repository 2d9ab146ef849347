"""descend.studies."""

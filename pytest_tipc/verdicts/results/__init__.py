"""Stored inference results: the files, the comparison, and the single writer of updates."""

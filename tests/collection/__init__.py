"""Tests of collection: items, ids, markers, input files."""

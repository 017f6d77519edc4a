"""Tests of the bundled reference model, its certification, and the README's promises."""

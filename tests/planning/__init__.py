"""Tests of dialect detection, row checks, the planners and command parity."""

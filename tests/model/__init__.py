"""Tests of the config model."""

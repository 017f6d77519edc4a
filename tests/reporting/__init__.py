"""Tests of what a session reports: summary, JUnit, the support matrix."""

"""Tests of real runs: steps, processes, devices, train-once, preparation, sessions."""

"""Tests of the verdicts: artifacts, evidence, known causes, training logs, stored results, ONNX, speed."""

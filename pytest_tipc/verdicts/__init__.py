"""Whether a cell passed: exit codes and artifacts, the training log, the AutoLog block, stored results."""

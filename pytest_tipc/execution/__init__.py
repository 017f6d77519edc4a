"""Running a cell for real: steps as subprocesses, devices, nodes, train-once, data preparation, logs."""

"""The config model: parsed TIPC configs (with line numbers), cells, steps and command records."""

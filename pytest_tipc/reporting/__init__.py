"""What a session reports: cell records, the terminal summary, the support matrix."""

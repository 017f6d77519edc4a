"""From configs to pytest items: the session's configs, the items, their markers."""

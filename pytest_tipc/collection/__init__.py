"""Plans to pytest items (after planning and settings, before execution): which files are configs
and how pytest reaches them (:mod:`.discover`: configs, globs, folders, inputs), the session's
outlines made in one pass (:mod:`.session`), the items (:mod:`.items`), their markers
(:mod:`.markers`) and the warning for configs that share output paths (:mod:`.overlaps`)."""

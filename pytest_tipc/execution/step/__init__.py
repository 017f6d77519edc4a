"""Running one step: its command (:mod:`.runner`), launches over several processes or nodes
(:mod:`.launcher`, :mod:`.nodes`, :mod:`.ports`), its interpreter (:mod:`.interpreter`) and the
artifacts it must leave (:mod:`.artifacts`)."""

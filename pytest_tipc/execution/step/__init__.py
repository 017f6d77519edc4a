"""Running one step: its command (:mod:`.runner`), launches over several nodes (:mod:`.nodes`,
:mod:`.ports`; the launch argv is :mod:`pytest_tipc.planning.launch_argv`), its interpreter (:mod:`.interpreter`) and the
artifacts it must leave (:mod:`.artifacts`)."""

"""Cleaning up processes: every step's process tree (:mod:`.proctree`, with its
:mod:`.watchdog`), what outlived its step (:mod:`.leftovers`) and one session per output
directory (:mod:`.session_lock`)."""

"""Running a cell for real, in three rooms:

* scheduling a cell: :mod:`.engine` (a cell's steps, leases, logs), :mod:`.once` (train once across
  workers), :mod:`.prepare` and :mod:`.prepare_inputs` (prepare.sh once per mode), :mod:`.devices`
  (GPU inventory and leases), :mod:`.live` (``--tipc-stream``), :mod:`.workarounds` (how the opt-in
  Paddle 3 workarounds reach a step);
* running one step: :mod:`.step` (runner, launcher, nodes, ports, interpreter, artifacts);
* cleaning up processes: :mod:`.processes` (proctree, watchdog, leftovers, session_lock).

Execution records facts (exit codes, artifacts, logs); whether a cell passed is :mod:`pytest_tipc.verdicts`'.
"""

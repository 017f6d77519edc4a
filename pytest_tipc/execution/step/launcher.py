"""The options of a ``python -m paddle.distributed.launch`` step: read and rewritten by planning
too (a CPU rehearsal), so they live in :mod:`pytest_tipc.planning.launch_argv`; the steps
(devices, nodes) take them from here."""

from __future__ import annotations

from pytest_tipc.planning.launch_argv import DEVICE_FLAGS, LaunchArgv

__all__ = ["DEVICE_FLAGS", "LaunchArgv"]

"""Configs of one session that would write the same checkpoints.

The docs template harness (the bundled model's) writes every model of a harness root into
``test_tipc/output/`` and names a training's log and checkpoint dir by trainer, gpu entry and
autocast only (``norm_train_gpus_0_autocast_null``): two template configs with the same training
cell write the same checkpoint dir. Their logs get distinct names
(:func:`pytest_tipc.layout.shared_step_logs`); the checkpoints are the model script's, so
the later run overwrites the earlier one's. The other families write
``test_tipc/output/<model>/<mode>/``. Only template configs are planned for this check (the others'
outlines come from the plan cache, unplanned).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

from pytest_tipc.layout import record_log
from pytest_tipc.model.cells import Plan, role_of

SHOWN = 3


class SharedOutputWarning(UserWarning):
    """Two configs of the session write the same checkpoints."""


def shared_logs(plans: Iterable[tuple[Path, Plan]]) -> dict[tuple[Path, Path], list[tuple[str, int]]]:
    """``{(earlier config, later config): [(training log both write, its cell's line in the later)]}``,
    logs relative to the harness root."""
    owners: dict[str, Path] = {}
    clashes: dict[tuple[Path, Path], list[tuple[str, int]]] = {}
    for path, plan in plans:
        for cell in plan.cells:
            log = os.path.normpath(record_log(cell)) if role_of(cell.kind) == "train" and record_log(cell) else ""
            if not log:
                continue
            owner = owners.setdefault(os.path.normpath(os.path.join(plan.root, log)), path)
            if owner != path:
                clashes.setdefault((owner, path), []).append((log, cell.lineno))
    return clashes


def warn_shared(plans: Iterable[tuple[Path, Plan]], shown: Callable[[Path], str] = str) -> None:
    """One :class:`SharedOutputWarning` per pair of configs that :func:`shared_logs` finds."""
    for (first, second), clashes in shared_logs(plans).items():
        logs = [log for log, _ in clashes]
        listed = ", ".join(logs[:SHOWN]) + (f" and {len(logs) - SHOWN} more" if len(logs) > SHOWN else "")
        warnings.warn_explicit(SharedOutputWarning(
            f"{shown(first)} and {shown(second)} write the same checkpoints (the trainings of {listed}): the "
            "template harness names them by trainer, gpu entry and autocast, not by model, so the later run "
            "overwrites the earlier one's (the plugin gives the logs distinct names, <log>_<config stem>.log). "
            "Run them in separate sessions, each with its own --tipc-output DIR, or give their trainers "
            "different gpu entries or names"),
            SharedOutputWarning, str(second), clashes[0][1] or 1)

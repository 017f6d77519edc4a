"""Dialects: one planner per upstream harness family.

Each module ``pytest_tipc.planning.dialects.<name>`` exposes ``plan(config, mode, root) -> Plan``:
``config`` is the parsed file, ``mode`` one of :data:`pytest_tipc.model.config.MODES` and ``root``
the absolute harness root (the directory the upstream harness is run from).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable

from pytest_tipc.model.cells import Plan
from pytest_tipc.model.config import TipcConfig

DIALECTS = ("s32", "template", "ocr", "clas", "seg", "det")

Planner = Callable[[TipcConfig, str, Path], Plan]


def planner(name: str) -> Planner:
    if name not in DIALECTS:
        raise ValueError(f"unknown TIPC dialect {name!r}; choose one of {', '.join(DIALECTS)} or auto")
    module = importlib.import_module(f"{__name__}.{name}")
    plan: Planner = module.plan
    return plan

"""Dialects: one planner per upstream harness family, and the registry that finds them.

Each built-in package ``pytest_tipc.planning.dialects.<name>`` exposes
``plan(config, mode, root) -> Plan``: ``config`` is the parsed file, ``mode`` one of
:data:`pytest_tipc.model.config.MODES` and ``root`` the absolute harness root (the directory the
upstream harness is run from). A new dialect is one package with such a ``plan`` plus one
:func:`register_dialect` call (from a conftest.py or a plugin); a ``pytest_tipc_detect_dialect``
hook (:mod:`pytest_tipc.hookspecs`) lets ``--tipc-dialect auto`` pick it.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Callable

from pytest_tipc.model.cells import Plan
from pytest_tipc.model.config import TipcConfig

BUILTIN = ("s32", "template", "ocr", "clas", "seg", "det", "dbnet")  # dbnet: benchmark_train only

Planner = Callable[[TipcConfig, str, Path], Plan]

_REGISTERED: dict[str, Planner] = {}
_NAME = re.compile(r"^[A-Za-z][\w.-]*$")


def register_dialect(name: str, plan: Planner) -> None:
    """Make ``plan`` the planner of dialect ``name`` (``--tipc-dialect name``, or what a
    ``pytest_tipc_detect_dialect`` hook returns). Registering the same planner again is a no-op
    (a conftest imported by every xdist worker) and one defined in the same place replaces it
    (the conftest imported again); a built-in name, or a name taken by another planner, is refused."""
    if not _NAME.match(name) or name == "auto":
        raise ValueError(f"dialect name {name!r}: use a letter then letters, digits, '_', '.' or '-' (not 'auto')")
    if name in BUILTIN:
        raise ValueError(f"dialect {name!r} is built in; register yours under another name")
    known = _REGISTERED.get(name)
    if known is not None and _origin(known) != _origin(plan):
        raise ValueError(f"dialect {name!r} is already registered (by {known.__module__}.{known.__qualname__})")
    _REGISTERED[name] = plan


def _origin(plan: Planner) -> tuple[str, str]:
    """Where a planner is defined: a conftest imported again (pytester, a new session in the same
    process) registers a new function object from the same place, which replaces the old one."""
    return getattr(plan, "__module__", ""), getattr(plan, "__qualname__", repr(plan))


def unregister_dialect(name: str) -> None:
    """Forget a registered dialect (for tests and plugins that unload)."""
    _REGISTERED.pop(name, None)


def dialect_names() -> tuple[str, ...]:
    """Every dialect ``--tipc-dialect`` accepts besides ``auto``: the built-in ones, then the registered."""
    return (*BUILTIN, *_REGISTERED)


def is_builtin(name: str) -> bool:
    return name in BUILTIN


def planner(name: str) -> Planner:
    registered = _REGISTERED.get(name)
    if registered is not None:
        return registered
    if name not in BUILTIN:
        raise ValueError(f"unknown TIPC dialect {name!r}; choose one of {', '.join(dialect_names())} or auto")
    module = importlib.import_module(f"{__name__}.{name}")
    plan: Planner = module.plan
    return plan

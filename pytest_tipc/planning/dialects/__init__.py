"""Dialects: one :class:`~pytest_tipc.planning.family.Family` per upstream harness family, and
the registry that finds them.

Each built-in package ``pytest_tipc.planning.dialects.<name>`` exposes ``FAMILY``: its planner
``plan(config, mode, root) -> Plan`` (``config`` the parsed file, ``mode`` one of
:data:`pytest_tipc.model.config.MODES`, ``root`` the absolute harness root), its row rules,
repository markers, evidence patterns and suite planners. A new dialect is one Family plus one
registration: :func:`register_dialect` (``pytest_tipc.register_dialect``, from a conftest.py or a
plugin) or a ``pytest_tipc_dialects`` hook (:mod:`pytest_tipc.hookspecs`); its markers, or a
``pytest_tipc_detect_dialect`` hook, let ``--tipc-dialect auto`` pick it.
"""

from __future__ import annotations

import importlib
import re

from pytest_tipc.planning.family import DialectFamily, Family, Planner

BUILTIN = ("s32", "template", "ocr", "clas", "seg", "det", "dbnet")  # dbnet: benchmark_train only

_REGISTERED: dict[str, Family] = {}
_NAME = re.compile(r"^[A-Za-z][\w.-]*$")


def register_dialect(family: Family | str, plan: Planner | None = None) -> None:
    """Make ``family`` a dialect (``--tipc-dialect <family.name>``, what a
    ``pytest_tipc_detect_dialect`` hook returns, or what its markers detect). The older form
    ``register_dialect(name, plan)`` registers a family with only a train/infer planner.
    Registering the same planner again is a no-op (a conftest imported by every xdist worker) and
    one defined in the same place replaces it (the conftest imported again); a built-in name, or a
    name taken by another planner, is refused."""
    if isinstance(family, str):
        if plan is None:
            raise TypeError("register_dialect(name, plan) needs a planner; or pass a Family")
        family = DialectFamily(family, plan)
    name = family.name
    if not _NAME.match(name) or name == "auto":
        raise ValueError(f"dialect name {name!r}: use a letter then letters, digits, '_', '.' or '-' (not 'auto')")
    if name in BUILTIN:
        raise ValueError(f"dialect {name!r} is built in; register yours under another name")
    known = _REGISTERED.get(name)
    if known is not None and _origin(known.plan) != _origin(family.plan):
        raise ValueError(f"dialect {name!r} is already registered (by {'.'.join(_origin(known.plan))})")
    _REGISTERED[name] = family


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


def family(name: str) -> Family:
    """The family of dialect ``name``: registered, else built in (its package imported now)."""
    registered = _REGISTERED.get(name)
    if registered is not None:
        return registered
    if name not in BUILTIN:
        raise ValueError(f"unknown TIPC dialect {name!r}; choose one of {', '.join(dialect_names())} or auto")
    found: Family = importlib.import_module(f"{__name__}.{name}").FAMILY
    return found


def families() -> tuple[Family, ...]:
    """Every family, in :func:`dialect_names` order."""
    return tuple(family(name) for name in dialect_names())


def planner(name: str) -> Planner:
    """The train/infer planner of dialect ``name``."""
    return family(name).plan

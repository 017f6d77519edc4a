"""Hook specifications pytest-tipc adds (implement them in a conftest.py or a plugin).

Kept in their own module and registered with ``pluginmanager.add_hookspecs`` from the plugin's
``pytest_addhooks``, as pytest-xdist keeps its ``newhooks``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_tipc.model.config import TipcConfig
    from pytest_tipc.planning.family import Family

HOOK_NAMES = ("pytest_tipc_dialects", "pytest_tipc_detect_dialect", "pytest_tipc_prepare", "pytest_tipc_known_causes")


@pytest.hookspec
def pytest_tipc_dialects() -> list[Family]:
    """Dialect families to add (:class:`pytest_tipc.Family`, e.g. a
    :class:`~pytest_tipc.planning.family.DialectFamily`): each is registered as
    :func:`pytest_tipc.register_dialect` would, when the session is configured, in every xdist
    worker. A family joins ``--tipc-dialect``, detection by its markers and every suite it has a
    planner for (train_infer_python, paddle2onnx, ptq, benchmark_train)."""
    return []


@pytest.hookspec(firstresult=True)
def pytest_tipc_detect_dialect(config: TipcConfig, root: Path) -> str | None:
    """``--tipc-dialect auto``: the dialect of ``config`` (a parsed
    :class:`~pytest_tipc.model.config.TipcConfig`) whose harness root is ``root``, or None to
    leave it to the next implementation and finally to the built-in detection (README,
    "Dialects"). The first name returned wins; it must be built in or registered with
    :func:`pytest_tipc.register_dialect` (or a ``pytest_tipc_dialects`` hook). Called at collection for every
    config, in every xdist worker, so it should be quick and give the same answer each time.
    While any implementation exists, the plan cache keys each config by the dialect returned."""


@pytest.hookspec
def pytest_tipc_prepare(config_path: Path, mode: str, root: Path) -> None:
    """Prepare data and weights for ``config_path`` in ``mode`` (the repo has no
    ``test_tipc/prepare.sh`` and no ``tipc_prepare_command`` ini command). Called once per config and
    mode across xdist workers, and cached between sessions; raise to fail the config's items."""


@pytest.hookspec
def pytest_tipc_known_causes(config: pytest.Config) -> list[dict[str, object]]:
    """Failure signatures to try before the built-in ones: a list of dicts with ``pattern`` (a
    regex searched in each line of a failing step's log), ``cause``, ``fix`` and optional ``link``,
    ``id`` and ``tail`` (``False`` leaves the log tail out); see the README's Verdicts section."""
    return []

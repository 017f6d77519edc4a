"""Hook specifications pytest-tipc adds (implement them in a conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.hookspec
def pytest_tipc_prepare(config_path: Path, mode: str, root: Path) -> None:
    """Prepare data and weights for ``config_path`` in ``mode`` (the repo has no
    ``test_tipc/prepare.sh`` and no ``tipc_prepare`` ini command). Called once per config and
    mode across xdist workers, and cached between sessions; raise to fail the config's items."""

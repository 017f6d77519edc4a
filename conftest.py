"""Repository-level pytest configuration for the plugin's own test suite."""

from __future__ import annotations

import os

# pytester's in-process runs restore sys.modules afterwards; C extensions such as numpy cannot be
# imported twice in one process, and psutil keeps module-level caches, so load them once here,
# before any in-process run imports them.
import numpy  # noqa: F401
import psutil  # noqa: F401
import pytest

# pytester is enabled with `-p pytester` in setup.cfg's addopts, not with `pytest_plugins` here: pytest
# refuses `pytest_plugins` in a conftest that is not at the rootdir, which this one is not when pytest
# runs from another directory (e.g. the checkout's parent).


@pytest.fixture(autouse=True)
def _inner_sessions_keep_file_order(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest-randomly shuffles this suite's tests; the pytest sessions the tests start (pytester,
    subprocesses) keep their items in file order, which is what they assert on. Set after pytester
    is made, which clears ``PYTEST_ADDOPTS``."""
    if "pytester" in request.fixturenames:
        request.getfixturevalue("pytester")
    given = os.environ.get("PYTEST_ADDOPTS", "")
    if "no:randomly" not in given:
        monkeypatch.setenv("PYTEST_ADDOPTS", f"{given} -p no:randomly".strip())

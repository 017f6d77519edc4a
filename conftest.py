"""Repository-level pytest configuration for the plugin's own test suite."""

from __future__ import annotations

# pytester's in-process runs restore sys.modules afterwards; C extensions such as numpy cannot be
# imported twice in one process, and psutil keeps module-level caches, so load them once here,
# before any in-process run imports them.
import numpy  # noqa: F401
import psutil  # noqa: F401

# pytester is enabled with `-p pytester` in setup.cfg's addopts, not with `pytest_plugins` here: pytest
# refuses `pytest_plugins` in a conftest that is not at the rootdir, which this one is not when pytest
# runs from another directory (e.g. the checkout's parent).

"""Repository-level pytest configuration for the plugin's own test suite."""

from __future__ import annotations

# pytester's in-process runs restore sys.modules afterwards; C extensions such as numpy cannot be
# imported twice in one process, and psutil keeps module-level caches, so load them once here,
# before any in-process run imports them.
import numpy  # noqa: F401
import psutil  # noqa: F401

pytest_plugins = ["pytester"]

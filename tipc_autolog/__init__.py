"""tipc_autolog: an AutoLog 1.2.0-compatible benchmark logger for model scripts.

``auto_log`` is not on PyPI; model scripts import this package instead (``from tipc_autolog import
AutoLogger``), which gives the real ``auto_log.AutoLogger`` when that is installed. It does not
depend on pytest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tipc_autolog import logger
from tipc_autolog.logger import ResourceSampler, Times, TipcAutoLogger, format_report, resolve_autologger

if TYPE_CHECKING:
    AutoLogger = TipcAutoLogger


def __getattr__(name: str) -> Any:
    if name == "AutoLogger":
        return logger.AutoLogger
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["AutoLogger", "ResourceSampler", "Times", "TipcAutoLogger", "format_report", "resolve_autologger"]

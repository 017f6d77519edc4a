"""``auto_log`` for steps whose interpreter has none: pytest-tipc's AutoLog-compatible logger.

pytest-tipc prepends the directory holding this package to a step's ``PYTHONPATH`` only when the
step's interpreter cannot import a real ``auto_log`` (AutoLog is not on PyPI), so model scripts
that ``import auto_log`` (PaddleSeg's ``deploy/python/infer.py``, PaddleOCR's predictors) run
unchanged. It loads ``tipc_autolog`` from the installation this file belongs to, so the step's
interpreter does not need pytest-tipc installed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

_PACKAGE = Path(__file__).resolve().parents[2]  # .../tipc_autolog


def _tipc_autolog() -> ModuleType:
    if "tipc_autolog" in sys.modules:
        return sys.modules["tipc_autolog"]
    spec = importlib.util.spec_from_file_location("tipc_autolog", _PACKAGE / "__init__.py",
                                                  submodule_search_locations=[str(_PACKAGE)])
    if spec is None or spec.loader is None:
        raise ImportError(f"auto_log shim: cannot load tipc_autolog from {_PACKAGE}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["tipc_autolog"] = module
    spec.loader.exec_module(module)
    return module


_logger = _tipc_autolog().logger
AutoLogger = _logger.TipcAutoLogger
Times = _logger.Times
SHIM = True  # tells a real auto_log from this one

__all__ = ["SHIM", "AutoLogger", "Times"]

"""pytest-tipc: PaddlePaddle TIPC train/infer configs as pytest items."""

from __future__ import annotations

from pytest_tipc.model.cells import Cell, Plan, Step
from pytest_tipc.model.config import ConfigError, TipcConfig, parse_file, parse_text

__all__ = ["Cell", "ConfigError", "Plan", "Step", "TipcConfig", "parse_file", "parse_text"]
__version__ = "0.1.0"  # the one version: setup.cfg reads it (attr:), the plan cache keys on it

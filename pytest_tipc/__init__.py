"""pytest-tipc: PaddlePaddle TIPC train/infer configs as pytest items."""

from __future__ import annotations

from pytest_tipc.hookspecs import HOOK_NAMES
from pytest_tipc.model.cells import Cell, Plan, Step
from pytest_tipc.model.config import ConfigError, TipcConfig, parse_file, parse_text
from pytest_tipc.planning.dialects import register_dialect, unregister_dialect
from pytest_tipc.planning.family import DialectFamily, Family
from pytest_tipc.verdicts.verdict import Verdict

# the hooks a conftest.py or plugin may implement are named in HOOK_NAMES (see pytest_tipc.hookspecs)
__all__ = [
    "HOOK_NAMES",
    "Cell", "ConfigError", "DialectFamily", "Family", "Plan", "Step", "TipcConfig",
    "Verdict", "parse_file", "parse_text", "register_dialect", "unregister_dialect",
]
__version__ = "0.1.0"  # the one version: setup.cfg reads it (attr:), the plan cache keys on it

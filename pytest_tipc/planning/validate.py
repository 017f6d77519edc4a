"""Structural checks: catch a shifted positional config before it turns into nonsense commands.

The harness reads rows by position, so one missing row shifts every later key: upstream then runs
``python False`` or an inference *script* named ``gpu`` (Paddle#37572). Every row of the 51-row
and 32-row layouts is checked against the key its dialect expects there (:mod:`.rows`), and the
error names the file, the line, the expected and found keys, and which row is missing or extra.
Every dialect's planner calls :func:`validate` too, so planning a config directly (the parity
tests) sees the same check and the same wording.
"""

from __future__ import annotations

from pytest_tipc.model.config import TipcConfig
from pytest_tipc.planning.dialects import family
from pytest_tipc.planning.rows import check_rows


def validate(config: TipcConfig, dialect: str) -> None:
    """Raise :class:`~pytest_tipc.model.config.ConfigError` for the first row that does not fit."""
    check_rows(config, family(dialect))

"""The durations file (``--tipc-store-durations``): ``{"durations": {nodeid: seconds}}``, sorted,
refreshed entry by entry (an item not run this time keeps its stored duration)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path

from pytest_tipc import _fs

DEFAULT_PATH = "test_tipc/.tipc_durations.json"
LIMIT = 64 * 1024 * 1024  # a durations file of 30,000 items is about 3 MB


class DurationsError(ValueError):
    """A durations file that is not what :func:`store` writes; the message names the file and the fix."""


def load(path: Path) -> dict[str, float]:
    """The stored durations (none when the file does not exist)."""
    try:
        data = _fs.read_regular(os.path.realpath(path), LIMIT)  # a linked durations file is followed
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise DurationsError(f"{path}: cannot read the durations file: {exc}") from None
    try:
        table = json.loads(data)["durations"]
        return {str(k): float(v) for k, v in table.items() if math.isfinite(float(v)) and float(v) >= 0}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise DurationsError(f"{path}: not a durations file ({{\"durations\": {{nodeid: seconds}}}}); "
                             "remove it, or write it anew with --tipc-store-durations") from None


def store(path: Path, measured: Mapping[str, float]) -> dict[str, float]:
    """Merge ``measured`` into the file at ``path`` (atomically); return what was written."""
    table = {**load(path), **{k: round(float(v), 3) for k, v in measured.items()}}
    body = {"durations": dict(sorted(table.items()))}
    _fs.write_atomic(path, json.dumps(body, indent=0, ensure_ascii=False) + "\n", what="store the durations")
    return table

"""PaddleOCR's ``benchmark/PaddleOCR_DBNet`` harness root. Only its ``benchmark_train.sh`` is
recorded (:mod:`.bench`); the train modes of its own train harness are not modelled."""

from __future__ import annotations

from pathlib import Path

from pytest_tipc.model.cells import Plan
from pytest_tipc.model.config import ConfigError, TipcConfig
from pytest_tipc.planning.family import DialectFamily, lazy


def plan(config: TipcConfig, mode: str, root: Path) -> Plan:
    raise ConfigError(config.path, 0, "mode benchmark_train for the PaddleOCR_DBNet harness root", f"mode {mode!r}",
                      "run it with --tipc-mode benchmark_train, or pass --tipc-dialect ocr for PaddleOCR's harness")


FAMILY = DialectFamily("dbnet", plan, roots=("PaddleOCR_DBNet",), bench=lazy(f"{__name__}.bench"))

"""The fleet's options and their ini twins, read once into :class:`FleetSettings`."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_tipc.fleet.durations import DEFAULT_PATH
from pytest_tipc.fleet.shard import ShardError, ShardSpec, parse_spec
from pytest_tipc.settings import cli_or_ini

FAIL_ON = ("new", "any")


@dataclass(frozen=True)
class FleetSettings:
    shard: ShardSpec | None = None
    durations: Path | None = None  # the durations file sharding reads
    store_durations: bool = False
    baseline: Path | None = None  # a previous run's JSON record (--tipc-baseline)
    fail_on: str = "new"
    reruns: int = 0  # rerun a failed step up to this many times (verdicts/flaky.py decides which)


def _shard_text(text: str) -> str:
    """Checked here, parsed (with the environment) when the settings are read."""
    try:
        parse_spec(text) if not text.strip().startswith("auto") else None
    except ShardError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _reruns(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number of reruns (0 for none), got {text!r}")
    return int(text)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("tipc")
    group.addoption("--tipc-shard", dest="tipc_shard", type=_shard_text, default=None, metavar="K/N",
                    help="run shard K of N (training groups kept whole, balanced by stored durations); "
                         "auto reads Slurm array, GitLab parallel, Buildkite or Kubernetes index variables.")
    group.addoption("--tipc-durations", dest="tipc_durations", default=None, metavar="PATH",
                    help=f"durations file for sharding (default {DEFAULT_PATH} under the rootdir).")
    group.addoption("--tipc-store-durations", dest="tipc_store_durations", action="store_true", default=False,
                    help="write this run's item durations into the durations file.")
    group.addoption("--tipc-baseline", dest="tipc_baseline", default=None, metavar="PREV.json",
                    help="classify every cell against a previous run's record (new failure, fixed, drift, ...).")
    group.addoption("--tipc-fail-on", dest="tipc_fail_on", choices=FAIL_ON, default=None,
                    help="with --tipc-baseline: fail on new failures only (new, default) or on any failure.")
    group.addoption("--tipc-reruns", dest="tipc_reruns", type=_reruns, default=None, metavar="N",
                    help="rerun a failed step up to N times, unless its cause is deterministic; a cell that "
                         "passes on a rerun is flaky, not passed.")
    parser.addini("tipc_reruns", default="", help="rerun a failed step up to N times (--tipc-reruns).")
    parser.addini("tipc_shard", default="", help="K/N or auto: this machine's shard.")
    parser.addini("tipc_durations", default="", help=f"durations file for sharding (default {DEFAULT_PATH}).")
    parser.addini("tipc_fail_on", default="new", help="with a baseline: new or any.")


def read(config: pytest.Config, harness_root: Path) -> FleetSettings:
    """``harness_root``: where the default durations file lives (``<root>/test_tipc/…``)."""
    opt = config.option
    ini_base = config.inipath.parent if config.inipath else config.rootpath
    invocation = config.invocation_params.dir
    shard_text = cli_or_ini(config, "tipc_shard", str, "")
    shard = None
    if shard_text:
        where = "--tipc-shard" if opt.tipc_shard else f"ini option tipc_shard in {config.inipath}"
        try:
            shard = parse_spec(shard_text)
        except ShardError as exc:
            raise pytest.UsageError(f"{where}: {exc}") from None
    ini_durations = config.getini("tipc_durations")
    durations = (Path(invocation, opt.tipc_durations) if opt.tipc_durations else
                 Path(ini_base, ini_durations) if ini_durations else harness_root / DEFAULT_PATH)
    fail_on = cli_or_ini(config, "tipc_fail_on", str, "")
    if fail_on not in FAIL_ON:
        raise pytest.UsageError(f"ini option tipc_fail_on = {fail_on!r}: choose new or any")
    reruns = cli_or_ini(config, "tipc_reruns", _reruns, 0)
    return FleetSettings(shard=shard, durations=durations, store_durations=opt.tipc_store_durations,
                         baseline=Path(invocation, opt.tipc_baseline) if opt.tipc_baseline else None,
                         fail_on=fail_on, reruns=reruns)

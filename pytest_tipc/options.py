"""Command-line options and their ini twins, read once into a frozen :class:`Settings`."""

from __future__ import annotations

import argparse
import glob
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_tipc.model.config import MODES
from pytest_tipc.planning.dialects import DIALECTS

CONFIG_GLOB = "*train*infer*python*.txt"
STAGES = ("setup", "prepare", "train", "eval", "export", "quant", "infer")
PRECISIONS = ("fp32", "fp16", "int8")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"a timeout must be positive, got {text!r}")
    return value


def _stage_timeout(text: str) -> tuple[str, float]:
    stage, sep, seconds = text.partition("=")
    if not sep or stage not in STAGES:
        raise argparse.ArgumentTypeError(
            f"expected STAGE=SECONDS with STAGE one of {', '.join(STAGES)}, got {text!r} (e.g. train=1800)")
    return stage, _seconds(seconds)


def _tolerance(text: str) -> tuple[str, str, float]:
    """``fp16:atol=0.05`` → ("fp16", "atol", 0.05)."""
    precision, sep, rest = text.partition(":")
    kind, sep2, number = rest.partition("=")
    if not (sep and sep2) or precision not in PRECISIONS or kind not in ("atol", "rtol"):
        raise argparse.ArgumentTypeError(
            f"expected PRECISION:atol=X or PRECISION:rtol=X with PRECISION one of {', '.join(PRECISIONS)}, "
            f"got {text!r} (e.g. fp16:atol=0.05)")
    try:
        return precision, kind, float(number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number after {kind}=, got {number!r}") from None


def _gpus(text: str) -> tuple[str, ...]:
    ids = tuple(part.strip() for part in text.split(",") if part.strip())
    if not all(part.isdigit() for part in ids):
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of GPU ids such as 0,1,2,3, got {text!r}")
    return ids


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("tipc", "PaddlePaddle TIPC train/infer configs")
    group.addoption("--tipc-config", action="append", dest="tipc_configs", default=[], metavar="PATH",
                    help=f"TIPC config file, directory (searched for {CONFIG_GLOB}) or glob; repeatable.")
    group.addoption("--tipc-mode", dest="tipc_mode", choices=MODES, default=None,
                    help="TIPC mode (default: lite_train_lite_infer).")
    group.addoption("--tipc-dialect", dest="tipc_dialect", choices=("auto", *DIALECTS), default=None,
                    help="harness family whose commands to reproduce (default: auto; see README).")
    group.addoption("--tipc-dry-run", dest="tipc_dry_run", action="store_true", default=False,
                    help="run nothing; every item records the commands it would run, and passes.")
    group.addoption("--tipc-record", dest="tipc_record", default=None, metavar="PATH",
                    help="append one JSON line per command (argv, cwd, cuda_visible_devices).")
    group.addoption("--tipc-output", dest="tipc_output", default=None, metavar="DIR",
                    help="where step logs go (default: the harness layout test_tipc/output/<model>/<mode>).")
    group.addoption("--tipc-timeout", dest="tipc_timeout", type=_seconds, default=None, metavar="SECONDS",
                    help="timeout of every step; the whole process tree is killed.")
    group.addoption("--tipc-stage-timeout", dest="tipc_stage_timeouts", type=_stage_timeout, action="append",
                    default=[], metavar="STAGE=SECONDS", help=f"per-stage timeout ({', '.join(STAGES)}).")
    group.addoption("--tipc-gpus", dest="tipc_gpus", type=_gpus, default=None, metavar="IDS",
                    help="restrict the GPUs cells may lease (default: CUDA_VISIBLE_DEVICES or nvidia-smi).")
    group.addoption("--tipc-local-nodes", dest="tipc_local_nodes", action="store_true", default=False,
                    help="rehearse multi-node cells on this machine even when their ips are not local.")
    group.addoption("--tipc-stream", dest="tipc_stream", action="store_true", default=False,
                    help="show the live output of running steps (also with -s).")
    group.addoption("--tipc-python", dest="tipc_python", default=None, metavar="EXE",
                    help="interpreter for every step instead of the config's `python:` value.")
    group.addoption("--tipc-update", dest="tipc_update", action="store_true", default=False,
                    help="rewrite failing stored results in test_tipc/results/ (the items still fail).")
    group.addoption("--tipc-update-all", dest="tipc_update_all", action="store_true", default=False,
                    help="rewrite every stored result that is checked (the items pass).")
    group.addoption("--tipc-tolerance", dest="tipc_tolerances", type=_tolerance, action="append", default=[],
                    metavar="PRECISION:atol=X", help="tolerance for stored results, e.g. fp16:atol=0.05.")
    group.addoption("--tipc-report", dest="tipc_report", default=None, metavar="PATH.md",
                    help="write the support matrix as Markdown (and PATH.json beside it).")

    parser.addini("tipc_configs", type="linelist", default=[], help="TIPC configs (files, dirs, globs).")
    parser.addini("tipc_mode", default="lite_train_lite_infer", help="TIPC mode.")
    parser.addini("tipc_dialect", default="auto", help="TIPC dialect: auto, " + ", ".join(DIALECTS) + ".")
    parser.addini("tipc_output", default="", help="where step logs go.")
    parser.addini("tipc_timeout", default="", help="timeout of every step, in seconds.")
    parser.addini("tipc_stage_timeouts", type="linelist", default=[], help="STAGE=SECONDS lines.")
    parser.addini("tipc_tolerances", type="linelist", default=[], help="PRECISION:atol=X lines.")
    parser.addini("tipc_prepare", type="args", default=[],
                  help="data preparation command when the repo has no test_tipc/prepare.sh "
                       "({config} and {mode} are substituted).")
    parser.addini("tipc_check_train_log", type="bool", default=True,
                  help="check the per-iteration training-log fields (loss, avg_reader_cost, ...).")
    parser.addini("tipc_root", default="", help="harness root for configs outside a test_tipc/ folder.")


@dataclass(frozen=True)
class Settings:
    configs: tuple[Path, ...]
    mode: str
    dialect: str
    dry_run: bool = False
    record: Path | None = None
    output: Path | None = None
    timeout: float | None = None
    stage_timeouts: dict[str, float] = field(default_factory=dict)
    gpus: tuple[str, ...] | None = None
    local_nodes: bool = False
    stream: bool = False
    python: str | None = None
    prepare: tuple[str, ...] = ()
    update: bool = False
    update_all: bool = False
    tolerances: dict[str, dict[str, float]] = field(default_factory=dict)
    report: Path | None = None
    check_train_log: bool = True
    root: Path | None = None

    @property
    def config_set(self) -> frozenset[str]:
        """The configs as normalised absolute path strings (pytest offers every file it visits)."""
        cached: frozenset[str] | None = self.__dict__.get("_config_set")
        if cached is None:
            cached = frozenset(str(path) for path in self.configs)
            object.__setattr__(self, "_config_set", cached)
        return cached


def _ini_parsed(config: pytest.Config, name: str, parse: Any) -> list[Any]:
    values = []
    for text in config.getini(name):
        try:
            values.append(parse(text))
        except argparse.ArgumentTypeError as exc:
            raise pytest.UsageError(f"ini option {name} in {config.inipath}: {exc}") from None
    return values


def read_settings(config: pytest.Config) -> Settings:
    opt = config.option
    invocation = config.invocation_params.dir
    ini_base = config.inipath.parent if config.inipath else config.rootpath
    raw = [(invocation, p) for p in opt.tipc_configs] or [(ini_base, p) for p in config.getini("tipc_configs")]
    configs = expand_configs(raw)

    timeout = opt.tipc_timeout
    if timeout is None and config.getini("tipc_timeout"):
        try:
            timeout = _seconds(config.getini("tipc_timeout"))
        except argparse.ArgumentTypeError as exc:
            raise pytest.UsageError(f"ini option tipc_timeout in {config.inipath}: {exc}") from None
    stages = dict(_ini_parsed(config, "tipc_stage_timeouts", _stage_timeout))
    stages.update(dict(opt.tipc_stage_timeouts))
    tolerances: dict[str, dict[str, float]] = {}
    for precision, kind, value in [*_ini_parsed(config, "tipc_tolerances", _tolerance), *opt.tipc_tolerances]:
        tolerances.setdefault(precision, {})[kind] = value

    mode = opt.tipc_mode or config.getini("tipc_mode")
    if mode not in MODES:
        raise pytest.UsageError(f"ini option tipc_mode = {mode!r}: choose one of {', '.join(MODES)}")
    dialect = opt.tipc_dialect or config.getini("tipc_dialect")
    if dialect not in ("auto", *DIALECTS):
        raise pytest.UsageError(f"ini option tipc_dialect = {dialect!r}: choose auto or one of {', '.join(DIALECTS)}")
    output = opt.tipc_output or config.getini("tipc_output")
    root = config.getini("tipc_root")
    return Settings(
        configs=configs,
        mode=mode,
        dialect=dialect,
        dry_run=opt.tipc_dry_run,
        record=Path(invocation, opt.tipc_record) if opt.tipc_record else None,
        output=Path(invocation, output) if output else None,
        timeout=timeout,
        stage_timeouts=stages,
        gpus=opt.tipc_gpus,
        local_nodes=opt.tipc_local_nodes,
        stream=opt.tipc_stream or config.getoption("capture", "fd") == "no",
        python=opt.tipc_python,
        prepare=tuple(config.getini("tipc_prepare")),
        update=opt.tipc_update,
        update_all=opt.tipc_update_all,
        tolerances=tolerances,
        report=Path(invocation, opt.tipc_report) if opt.tipc_report else None,
        check_train_log=bool(config.getini("tipc_check_train_log")),
        root=Path(ini_base, root) if root else None,
    )


def expand_configs(raw: list[tuple[Path, str]]) -> tuple[Path, ...]:
    """Files, directories (searched recursively for ``*train*infer*python*.txt``) and globs, in a
    stable order, each once. Paths stay absolute but unresolved (symlinks are the user's)."""
    found: list[Path] = []
    for base, text in raw:
        path = Path(base, text)
        if glob.has_magic(text):
            matches = sorted(Path(p) for p in glob.glob(os.fspath(path), recursive=True))
            files = [m for m in matches if m.is_file()]
            dirs = [m for m in matches if m.is_dir()]
            found += files + [f for d in dirs for f in sorted(d.rglob(CONFIG_GLOB))]
            if not matches:
                raise pytest.UsageError(f"--tipc-config {text}: the glob matches nothing (searched from {base})")
        elif path.is_dir():
            files = sorted(path.rglob(CONFIG_GLOB))
            if not files:
                raise pytest.UsageError(
                    f"--tipc-config {text}: no {CONFIG_GLOB} file under {path}; pass the config file itself")
            found += files
        elif path.is_file():
            found.append(path)
        else:
            raise pytest.UsageError(f"--tipc-config {text}: no such file or directory ({path})")
    unique: dict[str, Path] = {}
    for path in found:
        unique.setdefault(os.path.normpath(os.path.abspath(path)), Path(os.path.normpath(os.path.abspath(path))))
    return tuple(unique.values())

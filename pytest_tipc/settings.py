"""Command-line options and their ini twins, read once into a frozen :class:`Settings`."""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_tipc.model.config import CONFIG_GLOB, MODES
from pytest_tipc.model.workarounds import normalise, parse_name
from pytest_tipc.planning.dialects import BUILTIN, dialect_names
from pytest_tipc.planning.rehearse import REHEARSALS
from pytest_tipc.planning.suites import SUITES

STAGES = ("setup", "prepare", "train", "eval", "export", "quant", "convert", "infer", "analysis")
PRECISIONS = ("fp32", "fp16", "int8")
PREPARE_POLICIES = ("auto", "always", "never")


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


def _progress_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds (0 turns it off), got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or a positive number of seconds, got {text!r}")
    return value


def _bench(text: str) -> str:
    """benchmark_train.sh's run argument: ``<modeltype>_bs<N>_<fp>_<runmode>_N<n>C<c>``."""
    if not re.fullmatch(r"[A-Za-z0-9]+_bs\d+_[A-Za-z0-9]+_[A-Za-z0-9]+_N\d+C\d+", text):
        raise argparse.ArgumentTypeError(
            f"expected MODELTYPE_bs<N>_<precision>_<runmode>_N<nodes>C<cards>, got {text!r} "
            "(e.g. dynamic_bs8_fp32_DP_N1C1)")
    return text


def _speed_tolerance(text: str) -> float:
    """``5%`` or ``0.05`` → 0.05: the slowdown a bench cell may show against its baseline."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction or a percentage (0.05 or 5%), got {text!r}") from None
    if not 0 <= value < 1:
        hint = f" (did you mean {raw}%?)" if not raw.endswith("%") and 1 <= value < 100 else ""
        raise argparse.ArgumentTypeError(f"expected a slowdown below 100%, as a fraction (0.05) or a percentage "
                                         f"(5%), got {text!r}{hint}")
    return value


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
    group.addoption("--tipc-suite", dest="tipc_suite", choices=("auto", *SUITES), default=None,
                    help="upstream script whose commands to reproduce (default: auto, from the mode and layout).")
    group.addoption("--tipc-bench", dest="tipc_bench", type=_bench, default=None, metavar="ARG",
                    help="benchmark_train: run only this benchmark_train.sh run (e.g. dynamic_bs8_fp32_DP_N1C1); "
                         "default: every run, as upstream.")
    group.addoption("--tipc-dialect", dest="tipc_dialect", default=None, metavar="NAME",
                    help=f"harness family whose commands to reproduce: auto (default; see README), "
                         f"{', '.join(BUILTIN)}, or one a conftest registered.")
    group.addoption("--tipc-dry-run", dest="tipc_dry_run", action="store_true", default=False,
                    help="run nothing; every item records the commands it would run, and passes.")
    group.addoption("--tipc-record", dest="tipc_record", default=None, metavar="PATH",
                    help="append one JSON line per command (argv, cwd, cuda_visible_devices).")
    group.addoption("--tipc-output", dest="tipc_output", default=None, metavar="DIR",
                    help="where step logs go (default: where the repo's harness writes them, test_tipc/output/ for the "
                         "docs template, test_tipc/output/<model>/<mode> for the others; DIR: DIR/<model>/<mode>).")
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
    group.addoption("--tipc-progress", dest="tipc_progress", type=_progress_seconds, default=None, metavar="SECONDS",
                    help="how often the status line of each running step is refreshed: in place on a terminal "
                         "(default 1), as a new line otherwise (default 30); 0 turns it off.")
    group.addoption("--tipc-python", dest="tipc_python", default=None, metavar="EXE",
                    help="interpreter for every step instead of the config's `python:` value.")
    group.addoption("--tipc-update", dest="tipc_update", action="store_true", default=False,
                    help="rewrite failing stored results in test_tipc/results/ (the items still fail).")
    group.addoption("--tipc-update-all", dest="tipc_update_all", action="store_true", default=False,
                    help="rewrite every stored result that is checked (the items pass).")
    group.addoption("--tipc-tolerance", dest="tipc_tolerances", type=_tolerance, action="append", default=[],
                    metavar="PRECISION:atol=X", help="tolerance for stored results, e.g. fp16:atol=0.05.")
    group.addoption("--tipc-speed-tolerance", dest="tipc_speed_tolerance", type=_speed_tolerance, default=None,
                    metavar="5%", help="largest slowdown of a bench cell against its stored baseline (default 5%%).")
    group.addoption("--tipc-wait", dest="tipc_wait", action="store_true", default=False,
                    help="when another session writes into the same output dir, wait for it instead of stopping.")
    group.addoption("--tipc-report", dest="tipc_report", default=None, metavar="PATH.md",
                    help="write the support matrix as Markdown (and PATH.json beside it); PATH.html also writes a "
                         "self-contained page (PATH.md and PATH.json beside it).")
    group.addoption("--tipc-prepare", dest="tipc_prepare_policy", choices=PREPARE_POLICIES, default=None,
                    help="data preparation: auto (default: once per config and mode, until what it made is "
                         "gone), always (every session), never.")
    group.addoption("--tipc-workaround", dest="tipc_workarounds", type=parse_name, action="append", default=[],
                    metavar="NAME", help="Paddle 3 workaround (repeatable): memory-optim, onednn-pir, pdmodel-json, paddle3.")
    group.addoption("--tipc-rehearse", dest="tipc_rehearse", choices=REHEARSALS, default=None,
                    help="run every GPU cell on CPU (device rows, launch of N CPU processes), marked `rehearsal`.")
    group.addoption("--tipc-keep-going", dest="tipc_keep_going", action="store_true", default=None,
                    help="run a cell's remaining steps after a failed one, as the harness does (default: stop).")

    parser.addini("tipc_configs", type="linelist", default=[], help="TIPC configs (files, dirs, globs).")
    parser.addini("tipc_mode", default="lite_train_lite_infer", help="TIPC mode.")
    parser.addini("tipc_suite", default="auto", help="TIPC suite: auto, " + ", ".join(SUITES) + ".")
    parser.addini("tipc_bench", default="", help="benchmark_train run, e.g. dynamic_bs8_fp32_DP_N1C1.")
    parser.addini("tipc_dialect", default="auto", help="TIPC dialect: auto, " + ", ".join(BUILTIN) + ".")
    parser.addini("tipc_output", default="", help="where step logs go.")
    parser.addini("tipc_timeout", default="", help="timeout of every step, in seconds.")
    parser.addini("tipc_stage_timeouts", type="linelist", default=[], help="STAGE=SECONDS lines.")
    parser.addini("tipc_tolerances", type="linelist", default=[], help="PRECISION:atol=X lines.")
    parser.addini("tipc_speed_tolerance", default="", help="largest bench slowdown vs its baseline (default 5%).")
    parser.addini("tipc_progress", default="", help="seconds between live status lines (0: off).")
    parser.addini("tipc_prepare_command", type="args", default=[],
                  help="data preparation command; replaces the repo's test_tipc/prepare.sh "
                       "({config}, {mode} and {root} are substituted).")
    parser.addini("tipc_prepare", type="args", default=[], help="the older name of tipc_prepare_command.")
    parser.addini("tipc_prepare_policy", default="auto", help="data preparation: auto, always or never.")
    parser.addini("tipc_rehearse", default="", help="cpu: run every GPU cell on CPU, marked `rehearsal`.")
    parser.addini("tipc_keep_going", type="bool", default=False,
                  help="run a cell's remaining steps after a failed one (--tipc-keep-going).")
    parser.addini("tipc_check_train_log", type="bool", default=True,
                  help="check the per-iteration training-log fields (loss, avg_reader_cost, ...).")
    parser.addini("tipc_root", default="", help="harness root for configs outside a test_tipc/ folder.")
    parser.addini("tipc_allow_daemons", type="linelist", default=[],
                  help="command-line globs of helper processes a step may leave running until session end.")
    parser.addini("tipc_compare_results", type="bool", default=True,
                  help="compare inference output with the stored results in whole_infer modes.")
    parser.addini("tipc_results_pattern", default="",
                  help="glob (relative to test_tipc/results) of the stored-results files, when their names do "
                       "not contain the model name; {model} is substituted.")
    parser.addini("tipc_results_map", type="linelist", default=[],
                  help="per model, the glob (relative to test_tipc/results) of its stored-results files: "
                       "lines `model = glob`, e.g. `ch_ppocr_mobile_v2.0_det = python_ppocr_det_mobile_results_*.txt`.")
    parser.addini("tipc_workarounds", type="args", default=[], help="Paddle 3 workarounds (see --tipc-workaround).")
    parser.addini("tipc_known_causes", type="linelist", default=[],
                  help="JSON files of failure signatures (pattern, cause, fix, link), tried before the built-in ones.")


@dataclass(frozen=True)
class Settings:
    """Every option and ini value of pytest-tipc, read once (:func:`read_settings`); ``configs`` and
    ``rejected`` are filled in by collection (:func:`pytest_tipc.collection.discover.settle`)."""

    configs: tuple[Path, ...]
    mode: str
    dialect: str
    suite: str = "auto"
    bench: str = ""
    # $BENCHMARK_ROOT (PaddlePaddle/benchmark, whose scripts/analysis.py bench cells call), "" = unset
    benchmark_root: str = ""
    dry_run: bool = False
    record: Path | None = None
    output: Path | None = None
    timeout: float | None = None
    stage_timeouts: dict[str, float] = field(default_factory=dict)
    gpus: tuple[str, ...] | None = None
    local_nodes: bool = False
    stream: bool = False
    progress: float | None = None  # seconds between status lines; None: the default for the terminal
    python: str | None = None
    prepare: tuple[str, ...] = ()
    prepare_policy: str = "auto"
    keep_going: bool = False
    rehearse: str = ""  # --tipc-rehearse: "cpu" runs the GPU cells on CPU
    update: bool = False
    update_all: bool = False
    tolerances: dict[str, dict[str, float]] = field(default_factory=dict)
    speed_tolerance: float = 0.05
    report: Path | None = None
    check_train_log: bool = True
    root: Path | None = None
    # entries named like configs that are not regular files: (path, why), each a collection error
    rejected: tuple[tuple[Path, str], ...] = ()
    # what --tipc-config (else the ini's tipc_configs) named: (the folder it is relative to, the text)
    config_args: tuple[tuple[Path, str], ...] = ()
    compare_results: bool = True
    results_pattern: str | None = None
    results_map: tuple[tuple[str, str], ...] = ()  # (model, glob) from tipc_results_map
    known_causes: tuple[Path, ...] = ()
    workarounds: tuple[str, ...] = ()  # execution/workarounds.py: opt-in Paddle 3 workarounds
    wait: bool = False  # --tipc-wait: wait for the session that holds the output dir
    allow_daemons: tuple[str, ...] = ()  # tipc_allow_daemons: leftovers that are expected

    @property
    def plan_mode(self) -> str:
        """The mode as plan caches key it: with the suite and the bench run when they are set."""
        if self.suite == "auto" and not self.bench and not self.benchmark_root and not self.rehearse:
            return self.mode
        return f"{self.mode}+{self.suite}+{self.bench}+{self.benchmark_root}+{self.rehearse}"

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


def cli_or_ini(config: pytest.Config, name: str, parse: Any, default: Any = None) -> Any:
    """The value of the option whose dest and ini twin are both ``name``: the command line's (argparse
    parsed it), else the ini's parsed with ``parse`` (a bad one is a usage error naming the ini
    file), else ``default``."""
    given = getattr(config.option, name)
    if given is not None:
        return given
    text = config.getini(name)
    if not text:
        return default
    try:
        return parse(text)
    except argparse.ArgumentTypeError as exc:
        raise pytest.UsageError(f"ini option {name} in {config.inipath}: {exc}") from None


def read_settings(config: pytest.Config) -> Settings:
    opt = config.option
    invocation = config.invocation_params.dir
    ini_base = config.inipath.parent if config.inipath else config.rootpath
    raw = [(invocation, p) for p in opt.tipc_configs] or [(ini_base, p) for p in config.getini("tipc_configs")]
    mode = _choice(config, "mode", MODES)

    timeout = cli_or_ini(config, "tipc_timeout", _seconds)
    stages = dict(_ini_parsed(config, "tipc_stage_timeouts", _stage_timeout))
    stages.update(dict(opt.tipc_stage_timeouts))
    tolerances: dict[str, dict[str, float]] = {}
    for precision, kind, value in [*_ini_parsed(config, "tipc_tolerances", _tolerance), *opt.tipc_tolerances]:
        tolerances.setdefault(precision, {})[kind] = value

    dialect = cli_or_ini(config, "tipc_dialect", str, "auto")
    if dialect not in ("auto", *dialect_names()):  # read at configure: conftests have registered theirs
        where = f"--tipc-dialect={dialect}" if opt.tipc_dialect else f"ini option tipc_dialect = {dialect!r}"
        raise pytest.UsageError(f"{where}: choose auto or one of {', '.join(dialect_names())} "
                                "(a new dialect needs pytest_tipc.register_dialect)")
    suite = _choice(config, "suite", ("auto", *SUITES))
    bench = cli_or_ini(config, "tipc_bench", _bench, "")
    output = cli_or_ini(config, "tipc_output", str, "")
    progress = cli_or_ini(config, "tipc_progress", _progress_seconds)
    speed_tolerance = cli_or_ini(config, "tipc_speed_tolerance", _speed_tolerance, _speed_tolerance("5%"))
    root = config.getini("tipc_root")
    return Settings(
        configs=(),
        config_args=tuple((Path(base), text) for base, text in raw),
        mode=mode,
        dialect=dialect,
        suite=suite,
        bench=bench,
        benchmark_root=os.environ.get("BENCHMARK_ROOT", "") if mode == "benchmark_train" else "",
        dry_run=opt.tipc_dry_run,
        record=Path(invocation, opt.tipc_record) if opt.tipc_record else None,
        output=Path(invocation, output) if output else None,
        timeout=timeout,
        stage_timeouts=stages,
        gpus=opt.tipc_gpus,
        local_nodes=opt.tipc_local_nodes,
        stream=opt.tipc_stream or config.getoption("capture", "fd") == "no",
        progress=progress,
        python=opt.tipc_python,
        prepare=_prepare_command(config),
        prepare_policy=_choice(config, "prepare_policy", PREPARE_POLICIES),
        keep_going=bool(cli_or_ini(config, "tipc_keep_going", bool, False)),
        rehearse=_choice(config, "rehearse", ("", *REHEARSALS)),
        update=opt.tipc_update,
        update_all=opt.tipc_update_all,
        tolerances=tolerances,
        speed_tolerance=speed_tolerance,
        report=Path(invocation, opt.tipc_report) if opt.tipc_report else None,
        check_train_log=bool(config.getini("tipc_check_train_log")),
        root=Path(ini_base, root) if root else None,
        compare_results=bool(config.getini("tipc_compare_results")),
        results_pattern=config.getini("tipc_results_pattern") or None,
        results_map=_results_map(config),
        known_causes=tuple(Path(ini_base, p) for p in config.getini("tipc_known_causes")),
        wait=bool(opt.tipc_wait),
        allow_daemons=tuple(config.getini("tipc_allow_daemons")),
        workarounds=normalise([*_ini_parsed(config, "tipc_workarounds", parse_name), *opt.tipc_workarounds]),
    )


def _results_map(config: pytest.Config) -> tuple[tuple[str, str], ...]:
    """``tipc_results_map``: one ``model = glob`` per line (the glob relative to test_tipc/results)."""
    pairs: list[tuple[str, str]] = []
    for line in config.getini("tipc_results_map"):
        model, sep, glob = (part.strip() for part in line.partition("="))
        if not sep or not model or not glob or os.path.isabs(glob) or ".." in Path(glob).parts:
            raise pytest.UsageError(
                f"ini option tipc_results_map in {config.inipath}: {line!r} is not `model = glob` with a glob "
                "relative to test_tipc/results; write e.g. "
                "`ch_ppocr_mobile_v2.0_det = python_ppocr_det_mobile_results_*.txt`")
        pairs.append((model, glob))
    return tuple(pairs)


def _prepare_command(config: pytest.Config) -> tuple[str, ...]:
    """The ini's preparation command: ``tipc_prepare_command``, or its older name ``tipc_prepare``
    (whose name reads like ``--tipc-prepare``, the policy: a policy word there is a usage error)."""
    command, older = tuple(config.getini("tipc_prepare_command")), tuple(config.getini("tipc_prepare"))
    if command and older:
        raise pytest.UsageError(f"ini options tipc_prepare_command and tipc_prepare in {config.inipath} both set the "
                                "data preparation command: keep tipc_prepare_command")
    if len(older) == 1 and older[0] in PREPARE_POLICIES:
        raise pytest.UsageError(f"ini option tipc_prepare = {older[0]} in {config.inipath}: tipc_prepare is the data "
                                f"preparation command; the policy is tipc_prepare_policy = {older[0]} "
                                f"(or --tipc-prepare {older[0]})")
    return command or older


def _choice(config: pytest.Config, name: str, choices: tuple[str, ...]) -> str:
    value = cli_or_ini(config, f"tipc_{name}", str, "")
    if value not in choices:
        raise pytest.UsageError(f"ini option tipc_{name} = {value!r}: choose one of {', '.join(c for c in choices if c)}")
    return str(value)

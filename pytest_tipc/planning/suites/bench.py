"""``test_tipc/benchmark_train.sh``: what every family's copy shares.

The script copies the config to ``test_tipc/benchmark_train.txt``, ``sed``-edits it (eval and
export rows → ``null``, python → ``python``, then per run: precision row 6, epoch row 7, batch row
9, gpu row 4, profiler row 13), and runs the family's train harness on it in mode
``benchmark_train``, with its output redirected to a log that PaddlePaddle/benchmark's
``analysis.py`` then parses. Runs: with an argument ``<modeltype>_bs<N>_<fp>_<runmode>_N<n>C<c>``
that one run; without, every batch size × fp item of the ``train_benchmark_params`` section ×
the family's default device counts. A single-card run (``N1C1``) trains twice, with the profiler
option and without; a multi-card run trains once.

Each run is one ``bench`` cell, ``bench[bs8-fp32-DP-N1C1]`` (Clas's to_static model type adds a
``d2sT-`` prefix). Its steps, in order: the ``paddle.version.commit`` probe (first cell only: the
script runs it once), the nested harness's steps with the profiler (single card), the nested
harness's steps without it, and the ``analysis`` step.

Cell fields (``tipc`` marker): ``batch_size``, ``precision`` (the label in log names: fp32/fp16),
``run_mode`` (``DP``), ``device_num`` (``N1C1``), ``gpus`` (the ids written to row 4),
``model_type``. ``Step.meta``:

* every nested step: ``bench_run`` (the cell key) and ``profiling`` (``true``/``false``);
* the train step(s) of the unprofiled run: ``bench_log``, the log ``analysis.py`` parses
  (relative to the harness root; the step's ``log`` is the same file), and what a speed verdict
  needs, in analysis.py's names: ``model_name``, ``base_batch_size``, ``run_mode``, ``fp_item``,
  ``keyword``, ``skip_steps``, ``device_num``, ``speed_unit``, ``convergence_key``,
  ``speed_log_file`` (relative to the root) and ``bench`` (the run's argument,
  ``dynamic_bs8_fp32_DP_N1C1``: a baseline key);
* the ``analysis`` step: ``filename`` (that log, absolute as upstream passes it), ``speed_log_file``
  (where analysis.py writes the ``_speed`` JSON), ``model_name`` (``<model>_bs<N>_<fp>_<runmode>``),
  ``base_batch_size``, ``run_mode``, ``fp_item``, ``keyword`` (``ips:``), ``skip_steps``,
  ``device_num``, ``speed_unit``, ``convergence_key`` (``loss:``). ``${BENCHMARK_ROOT}`` defaults
  to ``<harness root>/BENCHMARK_ROOT``; without that checkout the analysis step cannot run, and
  the verdict parses the log itself with the same rule.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from pytest_tipc.model.cells import Cell, Plan, Step
from pytest_tipc.model.config import ConfigError, Line, TipcConfig, parse_text
from pytest_tipc.planning.dialects.bash import ifs_split, words

BANNER = "train_benchmark_params"
ENV_UNSET: tuple[tuple[str, str | None], ...] = (("CUDA_VISIBLE_DEVICES", None),)
ARG = re.compile(r"(?P<type>[^_]*)_(?P<bs>[^_]*)_(?P<fp>[^_]*)_(?P<run_mode>[^_]*)_(?P<devices>[^_]*)")
# the rows benchmark_train.sh rewrites (physical line numbers, as sed counts them)
LINE_PYTHON, LINE_GPUS, LINE_PRECISION, LINE_EPOCH, LINE_BATCH, LINE_PROFILE = 3, 4, 6, 7, 9, 13
LINE_EVAL, LINE_EXPORT = 24, 30


@dataclass(frozen=True)
class Run:
    """One benchmark run: ``train_precision`` is what row 6 gets, ``precision`` the log label."""

    model_type: str
    batch_size: str
    train_precision: str
    precision: str
    run_mode: str
    device_num: str
    epoch: str

    @property
    def argument(self) -> str:
        """The benchmark_train.sh argument naming this run (``dynamic_bs8_fp32_DP_N1C1``)."""
        model_type = "dynamicTostatic" if self.to_static else (self.model_type or "dynamic")
        if model_type in ("norm_train", ""):
            model_type = "dynamic"
        return f"{model_type}_bs{self.batch_size}_{self.precision}_{self.run_mode}_{self.device_num}"

    @property
    def to_static(self) -> bool:
        return self.model_type in ("dynamicTostatic", "to_static_train")

    @property
    def key(self) -> str:
        prefix = "d2sT-" if self.to_static else ""
        return f"{prefix}bs{self.batch_size}-{self.precision}-{self.run_mode}-{self.device_num}"


@dataclass(frozen=True)
class BenchRules:
    """How one family's benchmark_train.sh differs from PaddleOCR's."""

    dialect: str
    skip_steps: str = "2"
    single_unit: str = "samples/s"
    multi_unit: str = "images/s"
    loop_devices: tuple[str, ...] = ("N1C4",)
    # what rows 7 and 9 get for a run's epoch and batch size
    epoch_value: Callable[[str], str] = lambda epoch: f"benchmark_train={epoch}"
    batch_value: Callable[[str], str] = lambda batch: f"benchmark_train={batch}"
    # the argument's precision → row 6 value; row 6 value → log label
    arg_precision: Callable[[str], str] = lambda fp: "fp32" if fp == "null" else fp
    label: Callable[[str], str] = lambda precision: precision
    # the epoch a run uses: (section epoch, device_num, from an argument) -> epoch
    run_epoch: Callable[[str, str, bool], str] = lambda epoch, devices, explicit: epoch
    # status_check called with 3 arguments clears model_name (single-card, multi-card branch)
    clobber: tuple[bool, bool] = (False, False)
    # edits of the copied config before anything else: (config, text, section) -> text (Clas's seds)
    pre_edit: Callable[[TipcConfig, str, dict[int, Line]], str] | None = None
    # the model types a loop run covers (Clas: the section's model_type row; "to_static_train"
    # switches the trainer to to_static_train and names logs ``…_d2sT_log``)
    model_types: Callable[[dict[int, Line]], list[str]] = lambda section: [""]
    # the section row holding the profiler option (Det has a `repeat:` row first, Clas
    # model_type and num_workers rows)
    profile_offset: Callable[[dict[int, Line]], int] = lambda section: 5 if section[4].key.strip() == "repeat" else 4
    # a `null` profiler option skips the profiled run (the template family; upstream runs it)
    skip_null_profile: bool = False
    # the gpu row of a single-card run ("0"; the bundled model's CPU family writes "-1")
    single_gpu: str = "0"
    # single-card runs: steps between training and analysis, and the log analysis reads instead
    # (config, absolute train log) -> (steps, log); Seg's filter_log.py
    log_filter: Callable[[TipcConfig, str], tuple[list[Step], str]] | None = None
    # row 6's key after the edit ("" keeps the config's; Seg writes `--precision`)
    precision_key: str = ""
    # the profiler option's value as it reaches row 13 (DBNet keeps what precedes the first `;`)
    profile_value: Callable[[str], str] = lambda value: value


def plan_bench(config: TipcConfig, root: Path, family: BenchRules, planner: Callable[[TipcConfig, str, Path], Plan],
               bench: str = "", benchmark_root: str | None = None) -> Plan:
    model = config.model_name
    banner = _banner_line(config)
    if banner is None:
        return Plan(family.dialect, "benchmark_train", model, "./test_tipc/output",
                    reason=f"no `{BANNER}` section: benchmark_train.sh has nothing to run for this config")
    section = {offset: config.line(banner + offset) for offset in range(1, 8)}
    benchmark_root = benchmark_root or f"{root}/BENCHMARK_ROOT"
    raw = config.raw_text
    if family.pre_edit is not None:
        raw = family.pre_edit(config, raw, section)
    lines = raw.split("\n")
    _sed(lines, LINE_EVAL, "null")
    _sed(lines, LINE_EXPORT, "null")
    _sed(lines, LINE_PYTHON, "python")
    profile_row = section[family.profile_offset(section)]
    profile = f"{profile_row.key}:{family.profile_value(profile_row.value)}"
    runs = _runs(config, family, section, bench)
    repo = os.path.basename(os.path.normpath(str(root)))
    name = model  # benchmark_train.sh's global; a 3-argument status_check clears it
    cells: list[Cell] = []
    for run in runs:
        if family.precision_key:
            _sed_line(lines, LINE_PRECISION, f"{family.precision_key}:{run.train_precision}")
        else:
            _sed(lines, LINE_PRECISION, run.train_precision)
        _sed(lines, LINE_BATCH, family.batch_value(run.batch_size))
        _sed(lines, LINE_EPOCH, family.epoch_value(run.epoch))
        gpus = _gpu_ids(run.device_num)
        steps: list[Step] = [Step("setup", ("python", "-c", "import paddle;print(paddle.version.commit)"))] \
            if not cells else []
        tag = f"{name}_bs{run.batch_size}_{run.precision}_{run.run_mode}_{run.device_num}"
        static = "_d2sT" if run.to_static else ""
        single = len(gpus) <= 1
        if single:
            gpus = family.single_gpu
            _sed(lines, LINE_GPUS, gpus)
        if single and not (family.skip_null_profile and profile_row.value.strip() in ("null", "")):
            _sed_line(lines, LINE_PROFILE, profile)
            steps += _nested(lines, config, root, planner, run, profiling=True,
                             log=f"profiling_log/{repo}_{tag}{static}_profiling")
        elif not single:
            _sed(lines, LINE_GPUS, gpus)
        _sed(lines, LINE_PROFILE, "null")
        log = f"train_log/{repo}_{tag}{static}_log"
        speed = f"index/{repo}_{tag}{static}_speed"
        parsed = f"{root}/{log}"
        extra: list[Step] = []
        if single and family.log_filter is not None:
            extra, parsed = family.log_filter(config, parsed)
        analysis = _analysis(family, run, benchmark_root, log=parsed, speed=f"{root}/{speed}",
                             model_name=f"{name}_bs{run.batch_size}_{run.precision}_{run.run_mode}",
                             unit=family.single_unit if single else family.multi_unit)
        # what a speed verdict needs, on the unprofiled training itself (paths relative to the root)
        verdict = (*((k, v) for k, v in analysis.meta if k not in ("filename", "speed_log_file")),
                   ("speed_log_file", speed), ("bench", run.argument))
        steps += _nested(lines, config, root, planner, run, profiling=False, log=log, verdict=verdict)
        steps += [*extra, analysis]
        if family.clobber[0 if single else 1]:
            name = ""
        fields = (("model", model), ("mode", "benchmark_train"), ("kind", "bench"), ("gpus", gpus),
                  ("nodes", "1"), ("batch_size", run.batch_size), ("precision", run.precision),
                  ("run_mode", run.run_mode), ("device_num", run.device_num), ("model_type", run.model_type))
        cells.append(Cell("bench", run.key, tuple(steps), fields, None, section[1].lineno))
    return Plan(family.dialect, "benchmark_train", model, "./benchmark_log", tuple(cells), root=str(root))


def _banner_line(config: TipcConfig) -> int | None:
    """The physical line of the first ``train_benchmark_params`` word (``grep -n -w``)."""
    pattern = re.compile(rf"(?<!\w){BANNER}(?!\w)")
    for index, text in enumerate(config.raw_lines, start=1):
        if pattern.search(text):
            return index
    return None


def _runs(config: TipcConfig, family: BenchRules, section: dict[int, Line], bench: str) -> list[Run]:
    batch_text, fp_text, epoch = (section[i].value for i in (1, 2, 3))
    if bench:
        match = ARG.fullmatch(bench)
        if match is None:
            raise ConfigError(config.path, 0, "a benchmark argument MODELTYPE_bs<N>_<fp>_<runmode>_N<n>C<c>",
                              repr(bench), "pass e.g. --tipc-bench dynamic_bs8_fp32_DP_N1C1")
        precision = family.arg_precision(match["fp"])
        batch = re.sub(r"[^0-9]", "", match["bs"])
        return [Run(match["type"], batch, precision, family.label(precision), match["run_mode"], match["devices"],
                    family.run_epoch(epoch, match["devices"], True))]
    runs = []
    for model_type in family.model_types(section):
        for batch in ifs_split(batch_text):
            for precision in ifs_split(fp_text):
                for devices in family.loop_devices:
                    runs.append(Run(model_type, batch, precision, family.label(precision), "DP", devices,
                                    family.run_epoch(epoch, devices, False)))
    return runs


def _sed(lines: list[str], line: int, value: str) -> None:
    """``func_sed_params``: row ``line`` becomes ``<its key>:<value>``."""
    if 1 <= line <= len(lines):
        key = ifs_split(lines[line - 1], ":")
        _sed_line(lines, line, f"{key[0] if key else ''}:{value}")


def _sed_line(lines: list[str], line: int, text: str) -> None:
    """``sed -i '<line>s/.*/<text>/'``: a ``/`` in the text breaks the expression (sed fails, the
    row stays); ``&`` stands for the old row and ``\\x`` for ``x``."""
    if not 1 <= line <= len(lines) or "/" in text.replace("\\/", ""):
        return
    old = lines[line - 1]
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        out.append(old if char == "&" else char)
        i += 1
    lines[line - 1] = "".join(out)


def dynamic_epoch(epoch: str, device_num: str, explicit: bool) -> str:
    """PaddleOCR's ``set_dynamic_epoch``: ``expr $epoch \\* $N \\* $C`` for a run named by an
    argument (``explicit``); a looped run keeps the section's epoch."""
    match = re.fullmatch(r"N(\d+)C(\d+)", device_num)
    if not explicit or not match or not epoch.strip().isdigit():
        return epoch
    return str(int(epoch) * int(match[1]) * int(match[2]))


def _gpu_ids(device_num: str) -> str:
    """``set_gpu_id``: ``N1C4`` → ``0,1,2,3`` (cards per node, ``seq -s , 0 (C-1)/N``)."""
    match = re.fullmatch(r"N(\d+)C(\d+)", device_num)
    if not match or int(match[1]) == 0:
        return "0"
    last = (int(match[2]) - 1) // int(match[1])
    return ",".join(str(i) for i in range(last + 1))


def _nested(lines: list[str], config: TipcConfig, root: Path, planner: Callable[[TipcConfig, str, Path], Plan],
            run: Run, *, profiling: bool, log: str, verdict: tuple[tuple[str, str], ...] = ()) -> list[Step]:
    text = "\n".join(lines)
    if run.to_static:  # sed 's/trainer:norm_train/trainer:to_static_train/g'
        text = text.replace("trainer:norm_train", "trainer:to_static_train")
    rewritten = parse_text(text, Path(root) / "test_tipc" / "benchmark_train.txt")
    try:
        nested = planner(rewritten, "benchmark_train", root)
    except ConfigError as exc:
        raise ConfigError(config.path, exc.lineno, exc.expected, exc.found,
                          f"{exc.fix} (in the config benchmark_train.sh writes for run {run.key})") from None
    meta = (("bench_run", run.key), ("profiling", "true" if profiling else "false"))
    steps = []
    for step in nested.steps():
        extra = (("bench_log", log), *verdict) if step.kind == "train" else ()
        steps.append(dataclasses.replace(step, meta=(*step.meta, *meta, *extra),
                                         log=log if step.kind == "train" else step.log))
    return steps


def _analysis(family: BenchRules, run: Run, benchmark_root: str, *, log: str, speed: str, model_name: str,
              unit: str) -> Step:
    values = {"filename": log, "speed_log_file": speed, "model_name": model_name,
              "base_batch_size": run.batch_size, "run_mode": run.run_mode, "fp_item": run.precision,
              "keyword": "ips:", "skip_steps": family.skip_steps, "device_num": run.device_num,
              "speed_unit": unit, "convergence_key": "loss:"}
    argv = ["python", f"{benchmark_root}/scripts/analysis.py"]
    for name in ("filename", "speed_log_file", "model_name", "base_batch_size", "run_mode", "fp_item", "keyword",
                 "skip_steps", "device_num", "speed_unit", "convergence_key"):
        argv += [f"--{name}", *words(values[name])] if values[name] else [f"--{name}"]
    return Step("analysis", tuple(argv), ".", ENV_UNSET, f"benchmark_log/{os.path.basename(speed)}_analysis.log",
                meta=tuple(values.items()))

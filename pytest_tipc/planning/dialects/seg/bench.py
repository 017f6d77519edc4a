"""PaddleSeg ``test_tipc/benchmark_train.sh`` (see :mod:`pytest_tipc.planning.suites.bench`).

Seg's copy loops N1C1 and N1C8, keeps ``model_name`` (its ``status_check`` calls leave it) and
writes the precision row as ``--precision:<fp>`` whatever its key was.
Seg's train harness, in mode ``benchmark_train``, differs from its other train modes in three
ways the records show: the profiler option (row 13) reaches argv as one literal word, quotes and
trailing blanks included (``--profiler_options='batch_range=[10,20];…'  ``); ``fp16`` training
adds ``--amp_level=O2``; and the ``;``-separated ``key:value`` pairs of the config's last line
(``log_iters:5;repeats:500``, the row after ``flags:``) are appended as ``--key value``, except
``skip_iters`` (the script then filters the single-card log with ``test_tipc/filter_log.py``
before analysis) and ``task``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pytest_tipc.model.cells import Plan, Step
from pytest_tipc.model.config import TipcConfig
from pytest_tipc.planning.dialects.bash import ifs_split, words
from pytest_tipc.planning.dialects.seg.planner import plan as seg_plan
from pytest_tipc.planning.dialects.seg.steps import param
from pytest_tipc.planning.suites.bench import ENV_UNSET, BenchRules, plan_bench

# extra-args keys benchmark_train.sh consumes itself instead of passing them to training
OWN_KEYS = ("skip_iters", "task")


def extra_pairs(config: TipcConfig) -> list[tuple[str, str]]:
    """The ``k:v;k:v`` pairs of the row after ``flags:`` in the ``train_benchmark_params``
    section (a banner there gives none)."""
    banner = next((line.position for line in config.lines if "train_benchmark_params" in line.text
                   and "to_static" not in line.text), 0)
    text = config.line(banner + 6).text if banner else ""
    pairs = []
    for pair in ifs_split(text, ";"):
        key, sep, value = pair.partition(":")
        if sep and key.strip():
            pairs.append((key.strip(), value))
    return pairs


def extra_args(config: TipcConfig) -> list[str]:
    """The extra pairs as ``--k v`` training words."""
    return [word for key, value in extra_pairs(config) if key not in OWN_KEYS
            for word in (f"--{key}", *words(value))]


def log_filter(config: TipcConfig, log: str) -> tuple[list[Step], str]:
    """``skip_iters`` set: ``test_tipc/filter_log.py`` writes ``<log>_filtered`` (single card
    only), which analysis.py reads instead."""
    skip = dict(extra_pairs(config)).get("skip_iters", "")
    if not skip:
        return [], log
    argv = ("python", "test_tipc/filter_log.py", "--in_log_path", log, "--out_log_path", f"{log}_filtered",
            "--skip_iters", *words(skip))
    return [Step("setup", argv, ".", ENV_UNSET, "", meta=(("filters", log),))], f"{log}_filtered"


def train_plan(config: TipcConfig, mode: str, root: Path) -> Plan:
    plan = seg_plan(config, mode, root)
    key, value = config.key(13), config.value(13)
    shown = param(key, value)
    literal = f"{key.strip()}={value}"
    extra = extra_args(config)
    cells = []
    for cell in plan.cells:
        if cell.kind == "train":
            steps = []
            for step in cell.steps:
                if step.kind == "train":
                    argv = list(step.argv)
                    if shown and argv and argv[-1] == (words(shown) or [""])[-1]:
                        argv[-1] = literal
                    if cell.field_map.get("autocast") == "fp16":
                        argv.append("--amp_level=O2")
                    step = dataclasses.replace(step, argv=(*argv, *extra))
                steps.append(step)
            cell = dataclasses.replace(cell, steps=tuple(steps))
        cells.append(cell)
    return dataclasses.replace(plan, cells=tuple(cells))


RULES = BenchRules("seg", loop_devices=("N1C1", "N1C8"), log_filter=log_filter, precision_key="--precision")


def plan(config: TipcConfig, mode: str, root: Path, *, bench: str = "", benchmark_root: str | None = None) -> Plan:
    return plan_bench(config, root, RULES, train_plan, bench, benchmark_root)

"""The support matrix of the TIPC docs, from cell records.

* Seed 004's tables: training, one row per model, columns single-card / multi-card (and
  multi-node when a config has such cells), each entry listing the training kinds (normal, AMP,
  PACT, FPGM, …); inference, one row per model, columns ``device_CPU | device_GPU | batchsize``.
* Seed 000's summary table: one row per model, columns 基础训练预测 / 更多训练方式 / 模型压缩 /
  其他预测部署, filled through :data:`FEATURES`, the one table that says which seed-000 column a
  kind of cell belongs to (a new cell kind, e.g. ``onnx``/``ptq``/``bench``, is one more row).

Every entry is an :class:`Entry`: supported / failed / skipped over the cells it covers, with one
link to the evidence: the log of the step that failed, else the log of a passing cell.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pytest_tipc.model.gpus import GpuEntry
from pytest_tipc.model.record import CellRecord
from pytest_tipc.planning.rehearse import is_rehearsal

SEED000_COLUMNS = ("基础训练预测", "更多训练方式", "模型压缩", "其他预测部署")
# feature: (seed-000 column, label). Features come from feature_of(); a new cell kind maps here.
FEATURES: dict[str, tuple[str, str]] = {
    "train": ("基础训练预测", "训练 train"),
    "infer": ("基础训练预测", "Python 预测 inference"),
    "multi-card": ("更多训练方式", "单机多卡 multi-card"),
    "multi-node": ("更多训练方式", "多机多卡 multi-node"),
    "amp": ("更多训练方式", "混合精度 AMP"),
    "pact": ("模型压缩", "PACT量化 PACT"),
    "fpgm": ("模型压缩", "FPGM裁剪 FPGM"),
    "distill": ("模型压缩", "蒸馏 distill"),
    "ptq": ("模型压缩", "离线量化 PTQ"),
    "onnx": ("其他预测部署", "Paddle2ONNX"),
    "bench": ("其他预测部署", "benchmark"),
}
TRAIN_KINDS = {"train": "normal", "amp": "AMP", "pact": "PACT", "fpgm": "FPGM", "distill": "distill"}
INFER_COLUMNS = ("device_CPU", "device_GPU")
STATUSES = ("supported", "rehearsed", "failed", "skipped")
# How a status reads: a GPU cell that passed under --tipc-rehearse cpu never reads "supported".
LABELS = {"rehearsed": "rehearsed on CPU"}
_AMP = ("amp", "fp16", "bf16", "true", "o1", "o2")


def card_column(record: CellRecord) -> str:
    """``single-card``, ``multi-card`` or ``multi-node``: how a train cell is launched."""
    fields = record["fields"]
    try:
        nodes = int(fields.get("nodes", "1") or "1")
    except ValueError:
        nodes = 1
    gpu = GpuEntry.parse(fields.get("gpus", "-1").strip() or "-1")
    if nodes > 1 or gpu.kind == "nodes":
        return "multi-node"
    return "multi-card" if len(gpu.card_ids) > 1 else "single-card"


def train_kind(record: CellRecord) -> str:
    """``train`` (normal), ``amp``, ``pact``, ``fpgm`` or ``distill``: what a train cell trains."""
    fields = record["fields"]
    trainer = fields.get("trainer", "").lower()
    for kind in ("pact", "fpgm", "distill", "amp"):
        if kind in trainer:
            return kind
    return "amp" if fields.get("autocast", "").strip().lower() in _AMP else "train"


def feature_of(record: CellRecord) -> str | None:
    """The :data:`FEATURES` key of a record (``None``: not in the seed-000 table)."""
    kind = record["kind"]
    if kind == "train":
        trained = train_kind(record)
        if trained != "train":
            return trained
        column = card_column(record)
        return "train" if column == "single-card" else column
    if kind == "infer":
        return "infer"
    return kind if kind in FEATURES else None


def infer_column(record: CellRecord) -> str:
    device = record["fields"].get("device", "cpu").strip().lower()
    return "device_CPU" if device in ("cpu", "false", "") else "device_GPU"


def skip_cause(reason: str) -> str:
    """The root cause of a skip, without the advice after ``; `` (``-rs`` shows it whole): an infer
    cell skipped for its train cell's reason gives that reason."""
    return reason.rsplit("which is skipped: ", 1)[-1].split("; ", 1)[0].strip()


def key_metrics(record: CellRecord) -> str:
    """A short metrics text: ``loss 0.6931, ips 52.1`` or ``pre/inf/post 3.1/12.4/0.2 ms, rss 228.8 MB``."""
    m = record["metrics"]

    def num(name: str, fmt: str = ".4g") -> str | None:
        value = m.get(name)
        return format(value, fmt) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    parts: list[str] = []
    if num("final_loss") is not None:
        parts.append(f"loss {num('final_loss')}")
    if num("mean_ips") is not None:
        parts.append(f"ips {num('mean_ips')}")
    stages = [num(n) for n in ("preprocess_ms", "inference_ms", "postprocess_ms")]
    if any(s is not None for s in stages):
        parts.append("pre/inf/post " + "/".join(s or "-" for s in stages) + " ms")
    if num("cpu_rss_mb") is not None:
        parts.append(f"rss {num('cpu_rss_mb', '.1f')} MB")
    if num("gpu_rss_mb") is not None:
        parts.append(f"gpu {num('gpu_rss_mb', '.0f')} MB")
    compared, failed = m.get("results_compared"), m.get("results_failed")
    if isinstance(compared, int) and isinstance(failed, int) and compared:
        parts.append(f"results {compared - failed}/{compared} ok")
    elif str(m.get("results", "")).startswith("not compared"):  # no stored results found: said first
        parts.insert(0, "results not compared")
    return ", ".join(parts)


def link(log: str, base: Path | None) -> str:
    """``log`` (absolute: the log that ran) relative to ``base`` (the report's folder), POSIX
    style, or ``""`` when the file does not exist (or the path is relative: nothing ran)."""
    if not log or not os.path.isabs(log) or not os.path.isfile(log):
        return ""
    if base is None:
        return Path(log).as_posix()
    try:
        return Path(os.path.relpath(log, base)).as_posix()
    except ValueError:
        return Path(log).as_posix()


@dataclass(frozen=True)
class Entry:
    """One matrix entry over ``cells`` records: ``status`` is supported (some passed, none
    failed), rehearsed (as supported, but every cell that passed was a GPU cell run on CPU by
    ``--tipc-rehearse cpu``), flaky (one passed only on a rerun, none failed), failed (one failed)
    or skipped (none ran); ``link`` the evidence; ``reason`` why it failed or was skipped;
    ``nodeid`` the cell the link belongs to."""

    status: str
    cells: int
    link: str = ""
    reason: str = ""  # a supported entry's reason: the workaround it passed with (never a plain pass)
    nodeid: str = ""

    @property
    def label(self) -> str:
        """The entry's text: ``rehearsed on CPU``; ``supported with workaround`` when a cell passed
        only with one."""
        label = LABELS.get(self.status, self.status)
        return f"{label} with workaround" if self.status in ("supported", "rehearsed") and self.reason else label


def workaround_mark(record: CellRecord) -> str:
    """``passed with workaround memory-optim, Paddle#75496 (step infer)`` for a pass that needed
    a ``--tipc-workaround`` (execution/workarounds.py), else ``""``."""
    used = record["metrics"].get("workarounds")
    return f"passed with workaround {used}" if used and record["outcome"] in ("passed", "xfailed") else ""


def entry(records: Sequence[CellRecord], base: Path | None) -> Entry | None:
    if not records:
        return None
    failed = [r for r in records if r["outcome"] in ("failed", "error", "xpassed")]
    flaky = [r for r in records if r["outcome"] == "flaky"]
    passed = [r for r in records if r["outcome"] in ("passed", "xfailed")]
    if failed:
        shown, status = failed[0], "failed"
    elif flaky:  # passed only on a rerun: never "supported"
        return Entry("flaky", len(records), link(flaky[0]["log"], base), flaky[0]["reason"], flaky[0]["nodeid"])
    elif passed:  # a real (not rehearsed) pass first, and the one that needed a workaround, if one did
        real = [r for r in passed if not is_rehearsal(r["fields"])]
        pool = real or passed
        shown, status = next((r for r in pool if workaround_mark(r)), pool[0]), ("supported" if real else "rehearsed")
    else:
        shown, status = records[0], "skipped"
    reason = skip_cause(shown["reason"]) if status == "skipped" else (shown["reason"] if status == "failed" else "")
    if status in ("supported", "rehearsed"):
        reason = "; ".join(dict.fromkeys(mark for mark in map(workaround_mark, passed) if mark))
    return Entry(status, len(records), link(shown["log"], base), reason, shown["nodeid"])


K = TypeVar("K")


def _group(records: Iterable[CellRecord], key: Callable[[CellRecord], K]) -> dict[K, list[CellRecord]]:
    groups: dict[K, list[CellRecord]] = {}
    for record in records:
        groups.setdefault(key(record), []).append(record)
    return groups


@dataclass(frozen=True)
class ModeMatrix:
    """The three tables of one mode. Training: ``{model: {card column: {kind label: Entry}}}``;
    inference: ``{model: ({column: Entry}, batch sizes)}``; summary: ``{model: {column: {label: Entry}}}``."""

    mode: str
    train_columns: tuple[str, ...]
    training: dict[str, dict[str, dict[str, Entry]]]
    inference: dict[str, tuple[dict[str, Entry], tuple[str, ...]]]
    summary: dict[str, dict[str, dict[str, Entry]]]


def build(records: Sequence[CellRecord], base: Path | None = None) -> list[ModeMatrix]:
    """One :class:`ModeMatrix` per mode, models in the order they first appear."""
    out: list[ModeMatrix] = []
    for mode, group in _group(records, lambda r: r["mode"]).items():
        trains = [r for r in group if r["kind"] == "train"]
        columns = ["single-card", "multi-card"] + (["multi-node"] if any(card_column(r) == "multi-node"
                                                                          for r in trains) else [])
        training: dict[str, dict[str, dict[str, Entry]]] = {}
        for (model, column, kind), cells in _group(trains, lambda r: (r["model"], card_column(r),
                                                                      train_kind(r))).items():
            made = entry(cells, base)
            if made is not None:
                training.setdefault(str(model), {}).setdefault(str(column), {})[TRAIN_KINDS[str(kind)]] = made
        inference: dict[str, tuple[dict[str, Entry], tuple[str, ...]]] = {}
        for model, cells in _group([r for r in group if r["kind"] == "infer"], lambda r: r["model"]).items():
            by_device = {str(c): e for c, rs in _group(cells, infer_column).items() if (e := entry(rs, base))}
            batches = tuple(dict.fromkeys(r["fields"].get("batch_size", "") or "?" for r in cells))
            inference[str(model)] = (by_device, batches)
        summary: dict[str, dict[str, dict[str, Entry]]] = {}
        for (model, feature), cells in _group(group, lambda r: (r["model"], feature_of(r))).items():
            if feature is None:
                continue
            column, label = FEATURES[str(feature)]
            made = entry(cells, base)
            if made is not None:
                summary.setdefault(str(model), {}).setdefault(column, {})[label] = made
        out.append(ModeMatrix(str(mode), tuple(columns), training, inference, summary))
    return out


REASON_WIDTH = 160  # a reason in a report cell: longer ones are cut with …


def counts(records: Sequence[CellRecord]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in records:
        out[r["outcome"] or "?"] = out.get(r["outcome"] or "?", 0) + 1
    return out


def short(text: str, width: int = REASON_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"

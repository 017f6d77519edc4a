"""What a TIPC run supports, from its :class:`~pytest_tipc.reporting.records.CellRecord` list.

* :func:`terminal_summary` — one table per config: cell, outcome, key metrics, log path.
* :func:`write_report` — ``--tipc-report PATH.md``: the support matrix in the shape of the TIPC
  docs' tables (seeds 000 and 004), one section per mode:

  - training: model × single-card / multi-card / multi-node / AMP / PACT / FPGM;
  - inference: model × device_CPU / device_GPU, one row per batch size;

  every entry marked passed / failed / skipped (with the reason) and linked to its log,
  followed by a per-config detail table. ``PATH.json`` beside it holds the same data (the
  matrix and the records) for machines.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from pytest_tipc.reporting.records import CellRecord
from pytest_tipc.verdicts.results.baselines import write_atomic

TRAIN_COLUMNS = ("single-card", "multi-card", "multi-node", "AMP", "PACT", "FPGM")
INFER_COLUMNS = ("device_CPU", "device_GPU")
REASON_WIDTH = 90
REPORT_VERSION = 1


# ---- classification ----

def _is_true(value: str) -> bool:
    return value.strip().lower() in ("true", "1", "yes", "gpu")


def train_column(record: CellRecord) -> str:
    """Which training column a train record belongs to."""
    fields = record["fields"]
    trainer = fields.get("trainer", "").lower()
    autocast = fields.get("autocast", "").strip().lower()
    if "pact" in trainer:
        return "PACT"
    if "fpgm" in trainer:
        return "FPGM"
    if "amp" in trainer or autocast in ("amp", "fp16", "bf16", "true", "o1", "o2"):
        return "AMP"
    try:
        nodes = int(fields.get("nodes", "1") or "1")
    except ValueError:
        nodes = 1
    if nodes > 1:
        return "multi-node"
    gpus = fields.get("gpus", "-1").strip()
    cards = [c for c in gpus.partition(";")[2 if ";" in gpus else 0].split(",") if c.strip()]
    return "multi-card" if len(cards) > 1 else "single-card"


def infer_column(record: CellRecord) -> str:
    device = record["fields"].get("device", "cpu").strip().lower()
    return "device_CPU" if device in ("cpu", "false", "") else "device_GPU"


def infer_label(record: CellRecord) -> str:
    """``fp32 mkldnn t6``, ``fp16 trt``: the options that distinguish inference runs."""
    f = record["fields"]
    parts = [f.get("precision", "") or "?"]
    if _is_true(f.get("mkldnn", "")):
        parts.append("mkldnn")
    if f.get("threads"):
        parts.append(f"t{f['threads']}")
    if _is_true(f.get("trt", "")):
        parts.append("trt")
    return " ".join(parts)


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
    return ", ".join(parts)


def _short(text: str, width: int = REASON_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


# ---- terminal summary ----

def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]


def summary_lines(records: Iterable[CellRecord]) -> list[str]:
    """One table per (config, mode): cell, outcome, key metrics, log."""
    lines: list[str] = []
    groups: dict[tuple[str, str], list[CellRecord]] = {}
    for record in records:
        groups.setdefault((record["config"], record["mode"]), []).append(record)
    for (config, mode), group in groups.items():
        if lines:
            lines.append("")
        counts = _counts(group)
        lines.append(f"{config} [{mode}]: " + ", ".join(f"{n} {o}" for o, n in counts.items()))
        rows = [("cell", "outcome", "metrics", "log")]
        for r in group:
            outcome = r["outcome"] or "?"
            if r["reason"] and outcome not in ("passed",):
                outcome += f" ({_short(r['reason'], 60)})"
            rows.append((f"{r['kind']}[{r['key']}]", outcome, key_metrics(r) or "-", r["log"] or "-"))
        lines += ["  " + line for line in _table(rows)]
    return lines


class TerminalWriter(Protocol):
    def write_sep(self, sep: str, title: str | None = ..., **markup: bool) -> None: ...
    def write_line(self, line: str | bytes, **markup: bool) -> None: ...


def terminal_summary(terminalreporter: TerminalWriter, records: Sequence[CellRecord]) -> None:
    """Write :func:`summary_lines` under a ``tipc summary`` separator (nothing without records)."""
    if not records:
        return
    terminalreporter.write_sep("=", "tipc summary")
    for line in summary_lines(records):
        terminalreporter.write_line(line)


def _counts(records: Iterable[CellRecord]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in records:
        counts[r["outcome"] or "?"] = counts.get(r["outcome"] or "?", 0) + 1
    return counts


# ---- the support matrix ----

def _link(log: str, base: Path | None, root: Path | None) -> str:
    """``log`` as a link target relative to ``base`` (the report's directory), POSIX style."""
    if not log:
        return ""
    path = Path(log)
    if not path.is_absolute() and root is not None:
        path = root / path
    if base is not None and path.is_absolute():
        try:
            return Path(os.path.relpath(path, base)).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def _entry(record: CellRecord, label: str, base: Path | None, root: Path | None) -> dict[str, str]:
    return {"label": label, "outcome": record["outcome"] or "?", "reason": record["reason"],
            "log": _link(record["log"], base, root), "key": record["key"], "nodeid": record["nodeid"]}


def build_matrix(records: Sequence[CellRecord], base: Path | None = None,
                 root: Path | None = None) -> dict[str, Any]:
    """``{mode: {"training": [row], "inference": [row]}}``; a row is ``{"model", "columns":
    {column: [entry]}}`` (inference rows add ``"batch_size"``), an entry ``{"label", "outcome",
    "reason", "log", "key", "nodeid"}`` with ``log`` relative to ``base``."""
    modes: dict[str, Any] = {}
    for record in records:
        mode = modes.setdefault(record["mode"], {"training": {}, "inference": {}})
        model = record["model"]
        if record["kind"] == "train":
            row = mode["training"].setdefault(model, {"model": model, "columns": {c: [] for c in TRAIN_COLUMNS}})
            row["columns"][train_column(record)].append(_entry(record, record["key"], base, root))
        elif record["kind"] == "infer":
            batch = record["fields"].get("batch_size", "") or "?"
            row = mode["inference"].setdefault((model, batch), {
                "model": model, "batch_size": batch, "columns": {c: [] for c in INFER_COLUMNS}})
            parents = {r["parent"] for r in records if r["kind"] == "infer" and r["model"] == model
                       and r["mode"] == record["mode"]}
            label = infer_label(record) + (f" ({record['parent']})" if len(parents) > 1 else "")
            row["columns"][infer_column(record)].append(_entry(record, label, base, root))
    return {name: {"training": list(m["training"].values()), "inference": list(m["inference"].values())}
            for name, m in modes.items()}


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_entry(entry: Mapping[str, str]) -> str:
    label = _md_escape(entry["label"])
    shown = f"[{label}]({entry['log']})" if entry["log"] else label
    text = f"{entry['outcome']}: {shown}"
    if entry["reason"] and entry["outcome"] != "passed":
        text += f" ({_md_escape(_short(entry['reason']))})"
    return text


def _skip_summary(reason: str) -> str:
    """The root cause of a skip: an infer cell skipped for its train cell's reason gives that reason."""
    root_cause = reason.rsplit("which is skipped: ", 1)[-1]
    return root_cause.split("; ", 1)[0]


def _md_cell(entries: Sequence[Mapping[str, str]]) -> str:
    """Counts first, then every passed or failed cell (linked, failures with their reason), then
    the distinct reasons for the skipped ones; each cell is also listed under "Cells"."""
    if not entries:
        return "—"
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry["outcome"]] = counts.get(entry["outcome"], 0) + 1
    lines = ["**" + ", ".join(f"{n} {outcome}" for outcome, n in counts.items()) + "**"]
    lines += [_md_entry(e) for e in entries if e["outcome"] != "skipped"]
    reasons = dict.fromkeys(_skip_summary(e["reason"]) for e in entries if e["outcome"] == "skipped")
    lines += [f"skipped: {_md_escape(_short(reason))}" for reason in reasons]
    return "<br>".join(lines)


def render_markdown(records: Sequence[CellRecord], base: Path | None = None, root: Path | None = None,
                    title: str = "TIPC support matrix") -> str:
    matrix = build_matrix(records, base, root)
    counts = _counts(records)
    out = [f"# {title}", "",
           f"Generated by pytest-tipc from {len(records)} cells: "
           + ", ".join(f"{n} {o}" for o, n in counts.items()) + ".", "",
           "Each entry counts its cells by outcome, then lists the passed and failed ones (`outcome: cell`, "
           "linked to the log; failures with their reason) and why the others were skipped. "
           "— means no config has such a cell. Every cell is listed under [Cells](#cells).", ""]
    for mode, tables in matrix.items():
        out += [f"## {mode}", ""]
        if tables["training"]:
            out += ["### Training", "", "| model | " + " | ".join(TRAIN_COLUMNS) + " |",
                    "| :--- | " + " | ".join(":---:" for _ in TRAIN_COLUMNS) + " |"]
            out += [f"| {_md_escape(row['model'])} | " + " | ".join(_md_cell(row["columns"][c]) for c in TRAIN_COLUMNS)
                    + " |" for row in tables["training"]]
            out.append("")
        if tables["inference"]:
            out += ["### Inference", "", "| model | " + " | ".join(INFER_COLUMNS) + " | batchsize |",
                    "| :--- | " + " | ".join(":---:" for _ in INFER_COLUMNS) + " | :---: |"]
            out += [f"| {_md_escape(row['model'])} | " + " | ".join(_md_cell(row["columns"][c]) for c in INFER_COLUMNS)
                    + f" | {_md_escape(row['batch_size'])} |" for row in tables["inference"]]
            out.append("")
    out += ["## Cells", ""]
    groups: dict[tuple[str, str], list[CellRecord]] = {}
    for record in records:
        groups.setdefault((record["config"], record["mode"]), []).append(record)
    for (config, mode), group in groups.items():
        out += [f"### `{config}` ({mode})", "", "| cell | outcome | metrics | log |", "| :--- | :--- | :--- | :--- |"]
        for r in group:
            outcome = r["outcome"] or "?"
            if r["reason"] and outcome != "passed":
                outcome += f": {_md_escape(_short(r['reason']))}"
            link = _link(r["log"], base, root)
            log = f"[log]({link})" if link else "—"
            out.append(f"| {r['kind']}[{_md_escape(r['key'])}] | {outcome} | {_md_escape(key_metrics(r)) or '—'} | {log} |")
        out.append("")
    return "\n".join(out)


def report_data(records: Sequence[CellRecord], base: Path | None = None, root: Path | None = None) -> dict[str, Any]:
    """The JSON document written beside the Markdown report."""
    return {"version": REPORT_VERSION, "summary": _counts(records), "matrix": build_matrix(records, base, root),
            "records": list(records)}


def write_report(records: Sequence[CellRecord], path: str | Path, root: str | Path | None = None) -> tuple[Path, Path]:
    """Write ``path`` (Markdown) and the ``.json`` beside it, atomically; return both paths.
    Relative log paths in the records are taken relative to ``root`` (the rootdir)."""
    md = Path(path)
    js = md.with_suffix(".json") if md.suffix.lower() == ".md" else md.with_name(md.name + ".json")
    base = md.parent.resolve()
    root_path = Path(root).resolve() if root is not None else None
    write_atomic(md, render_markdown(records, base, root_path))
    write_atomic(js, json.dumps(report_data(records, base, root_path), indent=2, ensure_ascii=False) + "\n")
    return md, js

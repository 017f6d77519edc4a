"""``--tipc-report PATH.md`` (or ``PATH.html``): the support matrix of a run, from its records.

The Markdown file holds, per mode, the tables of the TIPC docs (:mod:`.matrix`): seed 000's
summary, seed 004's training and inference tables. Each entry reads supported / failed / skipped
and links once to its evidence; failure and skip reasons are numbered notes under the tables, and
the per-cell detail goes to a second file, ``PATH.cells.md``, linked from the first. ``PATH.json`` beside it holds the
same data for machines. With a ``.html`` path the page of :mod:`.html` is written as well (the
Markdown and JSON go beside it). Links are relative to the report's folder and only ever point to
files that exist. Files get the usual permissions (umask).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pytest_tipc import _fs
from pytest_tipc.model.record import CellRecord
from pytest_tipc.planning.rehearse import is_rehearsal
from pytest_tipc.reporting.matrix import (
    SEED000_COLUMNS,
    Entry,
    ModeMatrix,
    build,
    counts,
    key_metrics,
    link,
    short,
    skip_cause,
    workaround_mark,
)

REPORT_VERSION = 2
SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


class Notes:
    """Numbered reasons (each distinct text once), for the marks that have one."""

    def __init__(self) -> None:
        self.texts: dict[str, int] = {}

    def mark(self, entry: Entry) -> str:
        """``[supported](log)``, ``[rehearsed on CPU](log)``, ``[failed](log)²``, ``skipped¹``."""
        text = f"[{entry.label}]({entry.link})" if entry.link else entry.label
        if entry.reason:
            number = self.texts.setdefault(short(entry.reason), len(self.texts) + 1)
            text += str(number).translate(SUPERSCRIPT)
        return text

    def lines(self) -> list[str]:
        return [f"{str(n).translate(SUPERSCRIPT)} {_md(text)}  " for text, n in self.texts.items()]


def _labelled(entries: dict[str, Entry], notes: Notes) -> str:
    return "<br>".join(f"{_md(label)}: {notes.mark(e)}" for label, e in entries.items()) or "—"


def _table(head: Sequence[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "| :--- | " + " | ".join(":---:" for _ in head[1:]) + " |",
            *("| " + " | ".join(row) + " |" for row in rows), ""]


def mode_markdown(matrix: ModeMatrix) -> list[str]:
    notes = Notes()
    out = [f"## {matrix.mode}", ""]
    if matrix.summary:
        out += ["### 测试结论汇总 (summary)", ""]
        out += _table(("模型名称", *SEED000_COLUMNS), [
            [_md(model), *(_labelled(columns.get(c, {}), notes) for c in SEED000_COLUMNS)]
            for model, columns in matrix.summary.items()])
    if matrix.training:
        out += ["### 训练相关 (training)", ""]
        out += _table(("模型名称", *matrix.train_columns), [
            [_md(model), *(_labelled(columns.get(c, {}), notes) for c in matrix.train_columns)]
            for model, columns in matrix.training.items()])
    if matrix.inference:
        out += ["### 推理相关 (inference)", ""]
        rows = []
        for model, (devices, batches) in matrix.inference.items():
            marks = [notes.mark(devices[c]) if c in devices else "—" for c in ("device_CPU", "device_GPU")]
            rows.append([_md(model), *marks, _md(", ".join(batches))])
        out += _table(("模型名称", "device_CPU", "device_GPU", "batchsize"), rows)
    if notes.texts:
        out += ["Notes:", "", *notes.lines(), ""]
    return out


def detail_markdown(records: Sequence[CellRecord], base: Path | None) -> list[str]:
    """Per config and mode: a row per passed or failed cell, one line per skip reason."""
    out = [f"# Per-cell detail ({len(records)} cells)", ""]
    groups: dict[tuple[str, str], list[CellRecord]] = {}
    for record in records:
        groups.setdefault((record["config"], record["mode"]), []).append(record)
    for (config, mode), group in groups.items():
        out += [f"#### `{config}` ({mode})", "", "| cell | outcome | metrics / reason |", "| :--- | :--- | :--- |"]
        skipped: dict[str, int] = {}
        for r in group:
            if r["outcome"] == "skipped":
                cause = short(skip_cause(r["reason"]))
                skipped[cause] = skipped.get(cause, 0) + 1
                continue
            target = link(r["log"], base)
            shown = (r["outcome"] or "?") + (" (rehearsed on CPU)" if is_rehearsal(r["fields"]) else "")
            outcome = f"[{shown}]({target})" if target else shown
            what = "; ".join(filter(None, (key_metrics(r), workaround_mark(r)))) if r["outcome"] == "passed" \
                else short(r["reason"])
            out.append(f"| {_md(r['nodeid'].rsplit('::', 1)[-1] or r['key'])} | {outcome} | {_md(what) or '—'} |")
        out.append("")
        out += [f"- skipped ×{n}: {_md(cause)}" for cause, n in skipped.items()]
        out.append("")
    return out


def render_markdown(records: Sequence[CellRecord], base: Path | None = None,
                    title: str = "TIPC support matrix", cells: str = "", preface: Sequence[str] = ()) -> str:
    """The matrix; ``cells`` names the per-cell detail file it links to (``""``: inline, collapsed);
    ``preface``: lines shown first (what changed since the previous run)."""
    total = counts(records)
    out = [f"# {title}", "",
           f"Generated by pytest-tipc from {len(records)} cells: " + ", ".join(f"{n} {o}" for o, n in total.items())
           + ". Each entry is supported (some cells passed, none failed), rehearsed on CPU (the same, but "
             "only by GPU cells run on CPU with --tipc-rehearse cpu), failed or skipped, linked to its "
             "evidence (the log of the failed step, else of a passing cell); numbers point to the notes. "
             "— means no config has such a cell.", ""]
    if preface:
        out += ["## Since the previous run", "", "```", *preface, "```", ""]
    for matrix in build(records, base):
        out += mode_markdown(matrix)
    if cells:
        out += [f"Per-cell detail ({len(records)} cells, with metrics and a link to each log): [{cells}]({cells})", ""]
    else:
        out += ["<details><summary>Per-cell detail</summary>", "", *detail_markdown(records, base)[2:], "</details>", ""]
    return "\n".join(out)


def report_data(records: Sequence[CellRecord], base: Path | None = None) -> dict[str, Any]:
    """The JSON document written beside the Markdown report (log paths relative to ``base``)."""
    cells = [{**r, "log": link(r["log"], base)} for r in records]
    return {"version": REPORT_VERSION, "summary": counts(records),
            "matrix": [asdict(m) for m in build(records, base)], "records": cells}


def cells_path(md: Path) -> Path:
    """The per-cell detail beside the matrix: ``support.md`` → ``support.cells.md``."""
    return md.with_name(f"{md.stem}.cells.md")


def report_paths(path: str | Path) -> tuple[Path, Path, Path | None]:
    """``(markdown, json, html or None)`` for ``--tipc-report PATH``."""
    given = Path(path)
    suffix = given.suffix.lower()
    if suffix in (".html", ".htm"):
        return given.with_suffix(".md"), given.with_suffix(".json"), given
    if suffix == ".md":
        return given, given.with_suffix(".json"), None
    return given, given.with_name(given.name + ".json"), None


def report_files(path: str | Path) -> list[Path]:
    """Every file ``--tipc-report PATH`` writes: the matrix, its per-cell detail, the JSON, the page."""
    md, js, page = report_paths(path)
    return [md, cells_path(md), js, *([page] if page is not None else [])]


def write_report(records: Sequence[CellRecord], path: str | Path, root: str | Path | None = None,
                 extra: dict[str, Any] | None = None, preface: Sequence[str] | None = None) -> tuple[Path, Path]:
    """Write the Markdown matrix, its per-cell detail (``PATH.cells.md``), the JSON and, with a
    ``.html`` path, the page, atomically; return the Markdown and JSON paths. ``root`` is unused
    (record log paths are absolute); ``extra`` goes into the JSON (a run's id, its comparison with
    the previous run), ``preface`` first into the Markdown and the page."""
    md, js, page = report_paths(path)
    base = md.parent.resolve()
    detail = cells_path(md)
    _fs.write_atomic(md, render_markdown(records, base, cells=detail.name, preface=preface or ()),
                     what="write the report")
    _fs.write_atomic(detail, "\n".join(detail_markdown(records, base)), what="write the report")
    _fs.write_atomic(js, json.dumps({**report_data(records, base), **(extra or {})}, indent=1, ensure_ascii=False)
                     + "\n", what="write the report")
    if page is not None:
        from pytest_tipc.reporting.html import render_html

        _fs.write_atomic(page, render_html(records, page.parent.resolve(), preface=preface or ()),
                         what="write the report")
    return md, js

"""``--tipc-report PATH.html``: one self-contained page (no external resources): the support
matrix of :mod:`.report` (the same tables), the failures with their causes, and per train cell a
small loss and ips curve read from its training log.

The Chinese headers of the TIPC docs' tables need a CJK font on the reader's machine: the style names
the common ones (Noto Sans CJK / Source Han Sans, PingFang, Microsoft YaHei, WenQuanYi).
The curves are drawn with matplotlib (the optional extra ``report``) as inline SVG; without it the
page says so and omits them.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from pathlib import Path

from pytest_tipc.model.record import CellRecord
from pytest_tipc.reporting.matrix import (
    SEED000_COLUMNS,
    Entry,
    ModeMatrix,
    build,
    counts,
    key_metrics,
    link,
    short,
)

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC", "Source Han Sans SC",
  "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", sans-serif;
  margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.2em; }
th, td { border: 1px solid #bbb; padding: 0.3em 0.6em; vertical-align: top; }
th { background: #eee; }
.supported { color: #17702a; } .rehearsed { color: #8a6d00; } .failed { color: #b3141b; font-weight: bold; } .skipped { color: #777; }
.curves { display: flex; flex-wrap: wrap; gap: 1em; } .curves figure { margin: 0; }
pre { white-space: pre-wrap; background: #f6f6f6; padding: 0.5em; }
"""
NO_MATPLOTLIB = ("Loss and ips curves are omitted: matplotlib is not installed "
                 "(pip install 'pytest-tipc[report]').")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _mark(entry: Entry) -> str:
    title = f' title="{_e(short(entry.reason))}"' if entry.reason else ""
    text = f'<span class="{entry.status}"{title}>{_e(entry.label)}</span>'
    return f'<a href="{_e(entry.link)}">{text}</a>' if entry.link else text


def _labelled(entries: dict[str, Entry]) -> str:
    return "<br>".join(f"{_e(label)}: {_mark(e)}" for label, e in entries.items()) or "—"


def _table(head: Sequence[str], rows: list[list[str]]) -> str:
    cells = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def _mode(matrix: ModeMatrix) -> str:
    parts = [f"<h2>{_e(matrix.mode)}</h2>"]
    if matrix.summary:
        parts += ["<h3>测试结论汇总 (summary)</h3>", _table(("模型名称", *SEED000_COLUMNS), [
            [_e(model), *(_labelled(columns.get(c, {})) for c in SEED000_COLUMNS)]
            for model, columns in matrix.summary.items()])]
    if matrix.training:
        parts += ["<h3>训练相关 (training)</h3>", _table(("模型名称", *matrix.train_columns), [
            [_e(model), *(_labelled(columns.get(c, {})) for c in matrix.train_columns)]
            for model, columns in matrix.training.items()])]
    if matrix.inference:
        rows = [[_e(model), *(_mark(devices[c]) if c in devices else "—" for c in ("device_CPU", "device_GPU")),
                 _e(", ".join(batches))] for model, (devices, batches) in matrix.inference.items()]
        parts += ["<h3>推理相关 (inference)</h3>", _table(("模型名称", "device_CPU", "device_GPU", "batchsize"), rows)]
    return "\n".join(parts)


def _failures(records: Sequence[CellRecord], base: Path) -> str:
    failed = [r for r in records if r["outcome"] in ("failed", "error", "xpassed")]
    if not failed:
        return "<h2>Failures</h2><p>None.</p>"
    items = []
    for r in failed:
        target = link(r["log"], base)
        log = f' (<a href="{_e(target)}">log</a>)' if target else ""
        items.append(f"<li><code>{_e(r['nodeid'] or r['key'])}</code>{log}<pre>{_e(r['reason'])}</pre></li>")
    return f"<h2>Failures ({len(failed)})</h2><ul>{''.join(items)}</ul>"


def curve_svg(log: Path) -> str | None:
    """Loss and ips per logged iteration as a small inline SVG, or ``None`` (no iterations)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from pytest_tipc.verdicts.trainlog import curves

    try:
        series = curves(log)  # streamed, thinned: a 1 GB log draws in bounded memory
    except OSError:
        return None
    if not series["loss"] and not series["avg_ips"]:
        return None
    figure = Figure(figsize=(4.2, 1.6), dpi=72)
    for index, (name, points) in enumerate((("loss", series["loss"]), ("ips", series["avg_ips"]))):
        axes = figure.add_subplot(1, 2, index + 1)
        axes.plot([n for n, _ in points], [value for _, value in points], linewidth=1.2)
        axes.set_title(name, fontsize=8)
        axes.tick_params(labelsize=6)
    figure.tight_layout()
    out = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        figure.savefig(out, format="svg")
    text = out.getvalue()
    return text[text.index("<svg"):]


def _curves(records: Sequence[CellRecord], base: Path) -> str:
    trains = [r for r in records if r["kind"] == "train" and link(r["log"], base)]
    if not trains:
        return ""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return f"<h2>Training curves</h2><p>{_e(NO_MATPLOTLIB)}</p>"
    figures = []
    for r in trains:
        svg = curve_svg(Path(r["log"]))
        if svg is not None:
            caption = f"{r['model']} {r['nodeid'].rsplit('::', 1)[-1] or r['key']} — {key_metrics(r)}"
            figures.append(f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>")
    return f"<h2>Training curves</h2><div class=\"curves\">{''.join(figures)}</div>" if figures else ""


def render_html(records: Sequence[CellRecord], base: Path, title: str = "TIPC support matrix",
                preface: Sequence[str] = ()) -> str:
    total = ", ".join(f"{n} {o}" for o, n in counts(records).items())
    body = [f"<h1>{_e(title)}</h1>", f"<p>Generated by pytest-tipc from {len(records)} cells: {_e(total)}.</p>"]
    if preface:
        body.append(f"<h2>Since the previous run</h2><pre>{_e(chr(10).join(preface))}</pre>")
    body += [_mode(m) for m in build(records, base)]
    body += [_failures(records, base), _curves(records, base)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title><style>{STYLE}</style></head>\n<body>\n" + "\n".join(body)
            + "\n</body></html>\n")

"""Results files and inference logs, read the way compare_results.py reads them.

A results file ``{python|cpp}_<model>_results_{fp32|fp16|int8}.txt`` is chosen by the precision
substring in its name. Its lines are ``<image path>\t<json>`` keyed by the image basename (the
cpp form, space-separated ints, is read as ``(-1, 4)`` boxes), or ``name: value`` metrics
(PaddleSeg: ``mIoU: 0.87``; list-valued lines such as ``Class IoU: [..]`` are kept but, as
upstream, not compared).

In an inference log an entry is found as compare_results does it (``grep <key>``): the first
line containing the key, and the text after the key's last occurrence on it. Two fixes: the key
must start a token (``1.jpg`` does not match ``11.jpg``), and a line whose tail does not parse is
passed over for the next one instead of crashing. Metrics are read as the number after
``name:`` (the longer name wins: ``Class Acc:`` is not ``Acc:``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pytest_tipc._fs import line_chunks

PRECISIONS = ("fp32", "fp16", "int8")
Form = Literal["image", "metric"]
CELL_WIDTH = 40


def short(text: str, width: int = CELL_WIDTH) -> str:
    """One line of at most ``width`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


MISSING = object()
_NUMBER_RE = re.compile(r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+)|[-+]?(?:nan|inf)", re.IGNORECASE)


def parse_value(text: str) -> Any:
    """JSON, else space-separated ints as ``(-1, 4)`` boxes (the cpp form); raise ValueError."""
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    parts = text.split()
    if parts and len(parts) % 4 == 0:
        try:
            import numpy as np  # lazily: the plugin starts without numpy

            return np.array([int(p) for p in parts]).reshape(-1, 4).tolist()
        except ValueError:
            pass
    raise ValueError(f"not JSON nor space-separated ints: {short(text)}")


def parse_metric(text: str) -> Any:
    """A metric value: a number (``0.87``, ``50``), JSON, or a numpy-printed list ``[0.9 0.8]``."""
    text = text.strip().rstrip(",")
    try:
        return json.loads(text)
    except ValueError:
        pass
    if text.startswith("[") and text.endswith("]"):
        try:
            return [float(p) for p in text[1:-1].replace(",", " ").split()]
        except ValueError:
            pass
    match = _NUMBER_RE.fullmatch(text)
    if match:
        return float(text)
    raise ValueError(f"not a number: {short(text)}")


def is_scalar(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# ---- results files ----

@dataclass(frozen=True)
class Entry:
    key: str  # image basename or metric name
    label: str  # what precedes the value in the file: the image path as written, or the name
    text: str  # the value as written
    value: Any
    lineno: int = 0
    compared: bool = True


@dataclass
class StoredResults:
    path: Path
    form: Form
    entries: dict[str, Entry] = field(default_factory=dict)

    @property
    def compared(self) -> dict[str, Entry]:
        return {k: e for k, e in self.entries.items() if e.compared}


class ResultsFileError(Exception):
    """A results file that cannot be used; the message names file:line and the fix."""


def parse_results_text(text: str, path: str | Path = "<results>") -> StoredResults:
    path = Path(path)
    lines = [(n, line.rstrip("\r")) for n, line in enumerate(text.split("\n"), start=1) if line.strip()]
    form: Form = "image" if any("\t" in line for _, line in lines) else "metric"
    stored = StoredResults(path, form)
    for lineno, line in lines:
        if form == "image":
            label, sep, raw = line.partition("\t")
            if not sep:
                raise ResultsFileError(f"{path}:{lineno}: expected `<image>\\t<result>`, found {short(line)!r}. "
                                       "Fix: separate the image and its JSON result with one tab")
            key = label.strip().split("/")[-1]
            try:
                value = parse_value(raw)
            except ValueError as exc:
                raise ResultsFileError(f"{path}:{lineno}: the result of {key} is {exc}. "
                                       "Fix: store the JSON the inference script prints") from None
            stored.entries.setdefault(key, Entry(key, label, raw.strip(), value, lineno))
        else:
            name, sep, raw = line.partition(":")
            if not sep:
                raise ResultsFileError(f"{path}:{lineno}: expected `name: value`, found {short(line)!r}. "
                                       "Fix: write one metric per line as `name: value`")
            try:
                value = parse_metric(raw)
            except ValueError as exc:
                raise ResultsFileError(f"{path}:{lineno}: metric {name.strip()} is {exc}. "
                                       "Fix: write the metric as a number") from None
            key = name.strip()
            stored.entries.setdefault(key, Entry(key, key, raw.strip(), value, lineno, is_scalar(value)))
    return stored


def load_results(path: str | Path) -> StoredResults:
    """Read a results file; ResultsFileError (never another exception) when it can't be used."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsFileError(f"{path}: cannot be read ({exc})") from None
    return parse_results_text(text, path)


# ---- finding obtained values in a log ----

@dataclass(frozen=True)
class Found:
    """A key's obtained value: ``value`` is ``MISSING`` when absent, ``error`` when unparseable."""

    key: str
    value: Any = MISSING
    text: str = ""
    lineno: int = 0
    error: str = ""

    @property
    def missing(self) -> bool:
        return self.value is MISSING and not self.error


def _key_pattern(key: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.\-]){re.escape(key)}")


def find_image_result(lines: list[str], key: str) -> Found:
    pattern = _key_pattern(key)
    first_error = ""
    for lineno, line in enumerate(lines, start=1):
        if key not in line:
            continue
        spans = list(pattern.finditer(line))
        if not spans:
            continue
        tail = line[spans[-1].end():]
        try:
            return Found(key, parse_value(tail), tail.strip(), lineno)
        except ValueError as exc:
            first_error = first_error or f"line {lineno}: {exc}"
    return Found(key, error=first_error) if first_error else Found(key)


def find_metric(lines: list[str], key: str, longer: Iterable[str] = ()) -> Found:
    """``key: <number>``; occurrences inside a longer metric name (``Class Acc``) are skipped."""
    pattern = re.compile(rf"(?<![\w#]){re.escape(key)}:\s*")
    others = [re.compile(re.escape(name) + ":") for name in longer if key in name and name != key]
    for lineno, line in enumerate(lines, start=1):
        blocked = [(m.start(), m.end()) for other in others for m in other.finditer(line)]
        for match in pattern.finditer(line):
            if any(start <= match.start() < end for start, end in blocked):
                continue
            rest = line[match.end():]
            number = _NUMBER_RE.match(rest)
            if number:
                return Found(key, float(number.group(0)), number.group(0), lineno)
    return Found(key)


# Metrics an evaluation prints and an inference script never does (PaddleSeg's stored results:
# ``#Images: 50`` is the count of ``[EVAL] #Images: 50 mIoU: …``, PaddleSeg's val.py).
EVAL_METRICS = frozenset({"miou", "acc", "kappa", "dice", "class iou", "class acc", "class precision",
                          "class recall", "map", "top1", "top5", "top1_acc", "top5_acc", "top-1", "top-5",
                          "recall", "precision", "hmean", "f1", "f1-score", "mean iou", "auc", "#images",
                          "images", "#samples", "norm_edit_dis", "bbox", "acc_top1", "acc_top5"})


def producible(stored: StoredResults) -> list[str]:
    """The compared keys an inference step can print: images, and metrics that are not eval
    metrics (mIoU, Acc, Kappa, …). A metric file holding any eval metric is an eval results
    file as a whole: its counts (``#Images``) describe that evaluation too, in every family."""
    if stored.form == "image":
        return list(stored.compared)
    if any(key.strip().lower() in EVAL_METRICS for key in stored.compared):
        return []
    return list(stored.compared)


def log_lines(source: str | Path | Iterable[str]) -> Iterable[str]:
    """Lines of a log text, a log file (streamed) or an iterable of lines."""
    if isinstance(source, Path):
        return _file_lines(source)
    if isinstance(source, str):
        return source.splitlines()
    return source


def _chunks(log: str | Path | Iterable[str]) -> Iterable[str]:
    """The log as text chunks that end at a line end (a file is read a bounded block at a time)."""
    if isinstance(log, str):
        return [log]
    if not isinstance(log, Path):
        return ["\n".join(log)]
    return line_chunks(log)


def _candidate_lines(log: str | Path | Iterable[str], tails: set[str] | None) -> Iterable[tuple[int, str]]:
    """Numbered lines of the log, skipping whole chunks that contain none of ``tails``."""
    lineno = 0
    for chunk in _chunks(log):
        if tails is not None and not any(tail in chunk for tail in tails):
            lineno += chunk.count("\n")
            continue
        lines = chunk.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        for line in lines:
            lineno += 1
            yield lineno, line.rstrip("\r")


def _file_lines(path: Path) -> Iterable[str]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            yield line.rstrip("\r\n")


def find_results(log: str | Path | Iterable[str], stored: StoredResults,
                 keys: list[str] | None = None) -> dict[str, Found]:
    """Obtained values for the compared keys of ``stored`` (or ``keys``), in one pass over the
    log: each line is matched against one alternation of every key still unresolved, so the
    work is linear in the log's size whatever the number of images."""
    wanted = list(stored.compared) if keys is None else keys
    found: dict[str, Found] = {}
    errors: dict[str, str] = {}
    if not wanted:
        return {}
    if stored.form == "image":
        ordered = sorted(wanted, key=len, reverse=True)
        any_key = re.compile(r"(?<![\w.\-])(?:" + "|".join(re.escape(k) for k in ordered) + ")")
        # every key ends with one of these few tails: a chunk without any holds no key at all
        tails = {k[-3:] for k in wanted} if all(len(k) >= 3 for k in wanted) else None
        for lineno, line in _candidate_lines(log, tails):
            hits = {m.group(0) for m in any_key.finditer(line)} - found.keys()
            for key in hits:
                got = find_image_result([line], key)
                if got.error:
                    errors.setdefault(key, got.error.replace("line 1:", f"line {lineno}:"))
                elif not got.missing:
                    found[key] = Found(key, got.value, got.text, lineno)
            if len(found) == len(wanted):
                break
        return {key: found.get(key) or (Found(key, error=errors[key]) if key in errors else Found(key))
                for key in wanted}
    for lineno, line in enumerate(log_lines(log), start=1):
        for key in wanted:
            if key not in found and key in line:
                got = find_metric([line], key, stored.entries)
                if not got.missing:
                    found[key] = Found(key, got.value, got.text, lineno)
        if len(found) == len(wanted):
            break
    return {key: found.get(key, Found(key)) for key in wanted}


def extract_image_results(log: str | Path | Iterable[str]) -> dict[str, Found]:
    """Every ``<image>\\t<json>`` line of a log (for creating a results file): the key is the
    basename of the last word before the last tab; the first occurrence of a key wins."""
    found: dict[str, Found] = {}
    for lineno, line in enumerate(log_lines(log), start=1):
        head, sep, tail = line.rpartition("\t")
        words = head.split()
        if not sep or not words:
            continue
        try:
            value = json.loads(tail)
        except ValueError:
            continue
        if isinstance(value, (list, dict)):
            key = words[-1].split("/")[-1]
            found.setdefault(key, Found(key, value, tail.strip(), lineno))
    return found

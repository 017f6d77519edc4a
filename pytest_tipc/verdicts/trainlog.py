"""The training-log check (spec 001 §2.2.3): every logged iteration prints ``loss``,
``avg_reader_cost``, ``avg_batch_cost`` and ``avg_ips``.

Real logs spell these differently, and all of these are accepted::

    S32/models  [Epoch 0, iter: 10] ... loss: 6.91, avg_reader_cost: 0.01 sec, avg_batch_cost: 0.21 sec,
                avg_samples: 8.0, avg_ips: 38.1 images/sec
    PaddleOCR   ... ppocr INFO: epoch: [1/2], global_step: 10, lr: 0.001, loss: 3.41, ...,
                avg_reader_cost: 0.02 s, avg_batch_cost: 0.30 s, avg_samples: 8.0, ips: 26.6 samples/s
    PaddleClas  ... ppcls INFO: [Train][Epoch 1/2][Iter: 0/10]lr(...): 0.1, CELoss: 6.9, loss: 6.9,
                batch_cost: 2.43561s, reader_cost: 0.61280, ips: 3.28460 samples/s, eta: 0:00:48
    PaddleDet   ... ppdet.engine INFO: Epoch: [0] [ 0/50] learning_rate: 0.0001 loss: 10.2 ...
                batch_cost: 0.4832 data_cost: 0.0010 ips: 16.5563 images/s
    PaddleSeg   ... [INFO]	[TRAIN] epoch: 1, iter: 10/50, loss: 2.1, lr: 0.0098, batch_cost: 0.2345,
                reader_cost: 0.01234, ips: 8.5288 samples/sec | ETA 00:00:09

So ``avg_ips`` is matched by ``avg_ips:``, ``ips:`` or ``avg ips:``; ``avg_batch_cost`` by
``avg_batch_cost:``/``batch_cost:``; ``avg_reader_cost`` by ``avg_reader_cost:``/``reader_cost:``/
``data_cost:``; units ``s``/``sec`` and ``<unit>/s``/``<unit>/sec`` are optional. With
``spec_names=True`` only the spec's names count (``avg_ips``/``ips``, ``avg_reader_cost``,
``avg_batch_cost``), which is the strict reading of the spec.

What counts as an iteration line: a line that prints at least one of the three timing fields
(``[Eval]``/``[EVAL]`` lines excluded), so per-epoch ``[Avg]`` summaries that print only the loss
are not iterations. A field is *missing* when no iteration line prints it (the check fails); a
field printed on some iteration lines but not all is *partial* (reported, not failed).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

REQUIRED_FIELDS = ("loss", "avg_reader_cost", "avg_batch_cost", "avg_ips")
INI_OPT_OUT = "tipc_check_train_log = false"
SPEC_REF = "spec 001 §2.2.3"

_NUMBER = r"([-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+|nan|inf))"
_TIME_UNIT = r"(?:\s?(?:sec|s)\b)?"
_RATE_UNIT = r"(?:\s*\w+/s(?:ec)?\b)?"
# (canonical name, spelling, pattern); the first spelling that matches a line wins.
_SPELLINGS: dict[str, list[tuple[str, re.Pattern[str]]]] = {
    "loss": [("loss", re.compile(rf"(?<![\w.]){'loss'}:\s*{_NUMBER}"))],
    "avg_reader_cost": [
        (name, re.compile(rf"(?<![\w.]){name}:\s*{_NUMBER}{_TIME_UNIT}"))
        for name in ("avg_reader_cost", "reader_cost", "data_cost")
    ],
    "avg_batch_cost": [
        (name, re.compile(rf"(?<![\w.]){name}:\s*{_NUMBER}{_TIME_UNIT}"))
        for name in ("avg_batch_cost", "batch_cost")
    ],
    "avg_ips": [
        (name, re.compile(rf"(?<![\w.]){name}:\s*{_NUMBER}{_RATE_UNIT}"))
        for name in ("avg_ips", "ips", "avg ips")
    ],
}
_SPEC_SPELLINGS = {"loss", "avg_reader_cost", "avg_batch_cost", "avg_ips", "ips"}
_EVAL_LINE = re.compile(r"\[eval\]", re.IGNORECASE)
_TIMING = ("avg_reader_cost", "avg_batch_cost", "avg_ips")


@dataclass(frozen=True)
class Iteration:
    """One iteration line: its 1-based line number and the canonical fields it prints."""

    lineno: int
    values: dict[str, float]
    spellings: dict[str, str]


def parse_iterations(text: str, *, spec_names: bool = False) -> list[Iteration]:
    """The iteration lines of a training log, in order."""
    iterations: list[Iteration] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if _EVAL_LINE.search(line):
            continue
        values: dict[str, float] = {}
        spellings: dict[str, str] = {}
        for canonical, candidates in _SPELLINGS.items():
            for spelling, pattern in candidates:
                if spec_names and spelling not in _SPEC_SPELLINGS:
                    continue
                match = pattern.search(line)
                if match:
                    values[canonical] = float(match.group(1))
                    spellings[canonical] = spelling
                    break
        if any(name in values for name in _TIMING):
            iterations.append(Iteration(lineno, values, spellings))
    return iterations


@dataclass(frozen=True)
class TrainLogSummary:
    """What the check found in one training log; ``ok`` is the verdict."""

    log_path: str
    iterations: int = 0
    final_loss: float | None = None
    mean_ips: float | None = None
    mean_batch_cost: float | None = None
    mean_reader_cost: float | None = None
    missing: tuple[str, ...] = ()
    partial: dict[str, int] = field(default_factory=dict)  # field -> iteration lines without it
    spellings: dict[str, str] = field(default_factory=dict)  # field -> spelling seen first
    loss_lines: int = 0  # lines printing "loss:" at all (to explain a log with no timing fields)
    error: str = ""  # the log could not be read

    @property
    def ok(self) -> bool:
        return not self.error and not self.missing

    def metrics(self) -> dict[str, float | int | None]:
        """For ``user_properties`` / the report: iterations, final_loss, mean_ips, mean costs."""
        return {"iterations": self.iterations, "final_loss": self.final_loss, "mean_ips": self.mean_ips,
                "mean_batch_cost_s": self.mean_batch_cost, "mean_reader_cost_s": self.mean_reader_cost}

    def notes(self) -> list[str]:
        """Non-fatal findings (fields printed on only some iteration lines)."""
        return [f"{name} is missing on {count} of {self.iterations} iteration lines"
                for name, count in self.partial.items()]

    def failure_message(self) -> str:
        """Why the check failed, naming the log and the fields, ending with the fix ('' if ok)."""
        if self.ok:
            return ""
        fix = (f"Fix: print loss, avg_reader_cost, avg_batch_cost and avg_ips each iteration ({SPEC_REF}), "
               f"or set {INI_OPT_OUT} in the ini.")
        if self.error:
            return f"training log {self.log_path}: {self.error}.\n{fix}"
        names = ", ".join(self.missing)
        if self.iterations == 0:
            seen = (f"{self.loss_lines} line(s) print loss but none prints a timing field"
                    if self.loss_lines else "no line prints loss or a timing field")
            return (f"training log {self.log_path}: no iteration line found ({seen}); "
                    f"missing fields: {names}.\n{fix}")
        return (f"training log {self.log_path}: {self.iterations} iteration line(s), but none prints "
                f"{names}.\n{fix}")


def _mean(values: list[float]) -> float | None:
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else None


def summarize(text: str, log_path: str = "<log>", *, required: tuple[str, ...] = REQUIRED_FIELDS,
              spec_names: bool = False) -> TrainLogSummary:
    """Check a training log's text."""
    unknown = [name for name in required if name not in _SPELLINGS]
    if unknown:
        raise ValueError(f"unknown training-log field(s) {unknown}; known: {', '.join(_SPELLINGS)}")
    iterations = parse_iterations(text, spec_names=spec_names)
    counts = {name: sum(1 for it in iterations if name in it.values) for name in required}
    missing = tuple(name for name in required if counts[name] == 0)
    partial = {name: len(iterations) - n for name, n in counts.items() if 0 < n < len(iterations)}
    spellings: dict[str, str] = {}
    for it in iterations:
        for name, spelling in it.spellings.items():
            spellings.setdefault(name, spelling)
    losses = [it.values["loss"] for it in iterations if "loss" in it.values]
    loss_pattern = _SPELLINGS["loss"][0][1]
    return TrainLogSummary(
        log_path=log_path,
        iterations=len(iterations),
        final_loss=losses[-1] if losses else None,
        mean_ips=_mean([it.values["avg_ips"] for it in iterations if "avg_ips" in it.values]),
        mean_batch_cost=_mean([it.values["avg_batch_cost"] for it in iterations if "avg_batch_cost" in it.values]),
        mean_reader_cost=_mean([it.values["avg_reader_cost"] for it in iterations
                                if "avg_reader_cost" in it.values]),
        missing=missing,
        partial=partial,
        spellings=spellings,
        loss_lines=sum(1 for line in text.splitlines() if loss_pattern.search(line)),
    )


def check_train_log(path: str | Path, *, required: tuple[str, ...] = REQUIRED_FIELDS,
                    spec_names: bool = False, display_path: str | None = None) -> TrainLogSummary:
    """Check a training log file; a missing or unreadable file is a failed summary, not an
    exception. ``display_path`` is how messages name the file (default: ``path``)."""
    shown = display_path or str(path)
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return TrainLogSummary(log_path=shown, missing=tuple(required),
                               error="the file does not exist (the training step wrote no log here)")
    except OSError as exc:
        return TrainLogSummary(log_path=shown, missing=tuple(required), error=f"cannot be read ({exc})")
    return summarize(text, shown, required=required, spec_names=spec_names)

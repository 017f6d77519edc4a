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

What counts as an iteration line (a *logged step*): a line that prints at least one of the three
timing fields (``[Eval]``/``[EVAL]`` lines and progress bars such as PaddleSeg's eval
``1/2 [==>..] - batch_cost: …`` excluded), so per-epoch ``[Avg]`` summaries that print only the
loss are not iterations. A ``\r`` ends a line too (tqdm-style bars, PaddleSeg's ``\b…\r`` redraws).
A field is *missing* when no iteration line prints it (the check fails); a field printed on some
iteration lines but not all is *partial* (reported, not failed).

A log prints one line every few steps, so *iterations* (how many steps ran) come from the
counter the last logged step reports, not from the number of lines: PaddleOCR's
``global_step: 4`` (1-based), PaddleSeg's ``[TRAIN] epoch: 1, iter: 10/20`` (1-based, across epochs),
PaddleClas's ``[Train][Epoch 2/2][Iter: 10/20]`` (epochs 1-based, steps 0-based per epoch: 31) and
PaddleDetection's ``Epoch: [1] [ 0/20]`` (both 0-based: 21). A log with no known counter has none.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pytest_tipc._fs import line_chunks

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
# Step counters of iteration lines, each with how it turns into steps run.
_COUNTERS: tuple[tuple[re.Pattern[str], Callable[[list[int]], int]], ...] = (
    (re.compile(r"(?<![\w.])global_step:\s*(\d+)"), lambda n: n[0]),  # PaddleOCR
    (re.compile(r"\[TRAIN\] epoch: \d+, iter: (\d+)/\d+"), lambda n: n[0]),  # PaddleSeg
    (re.compile(r"\[Train\]\[Epoch (\d+)/\d+\]\[Iter: (\d+)/(\d+)\]"),
     lambda n: (n[0] - 1) * n[2] + n[1] + 1),  # PaddleClas
    (re.compile(r"Epoch: \[(\d+)\] \[\s*(\d+)/(\d+)\]"), lambda n: n[0] * n[2] + n[1] + 1),  # PaddleDetection
)


def steps_reported(line: str) -> int | None:
    """How many training steps had run when ``line`` was logged, from the counter it prints."""
    for pattern, steps in _COUNTERS:
        match = pattern.search(line)
        if match:
            return steps([int(group) for group in match.groups()])
    return None


@dataclass(frozen=True)
class Iteration:
    """One iteration line: its 1-based line number and the canonical fields it prints."""

    lineno: int
    values: dict[str, float]
    spellings: dict[str, str]


def parse_iterations(text: str, *, spec_names: bool = False) -> list[Iteration]:
    """The iteration lines of a training log, in order."""
    iterations: list[Iteration] = []
    excluded = _excluded()
    for lineno, line in enumerate(text.splitlines(), start=1):
        if _EVAL_LINE.search(line) or excluded.match(line):
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


def curves(path: Path, points: int = 1000) -> dict[str, list[tuple[int, float]]]:
    """``loss`` and ``avg_ips`` of a log file's iteration lines as ``(n, value)`` (``n`` counts
    the lines printing that field, from 1), read a chunk at a time. A long log is thinned evenly
    to between ``points`` and ``2 * points`` values per field, so memory stays bounded."""
    found: dict[str, list[tuple[int, float]]] = {"loss": [], "avg_ips": []}
    stride = dict.fromkeys(found, 1)
    seen = dict.fromkeys(found, 0)
    for chunk in line_chunks(path):
        for iteration in parse_iterations(chunk):
            for name, values in found.items():
                if name not in iteration.values:
                    continue
                if seen[name] % stride[name] == 0:
                    values.append((seen[name] + 1, iteration.values[name]))
                    if len(values) > 2 * points:
                        del values[1::2]
                        stride[name] *= 2
                seen[name] += 1
    return found


@dataclass(frozen=True)
class TrainLogSummary:
    """What the check found in one training log; ``ok`` is the verdict."""

    log_path: str
    logged_steps: int = 0  # iteration lines
    iterations: int | None = None  # steps run, from the last counter a logged step printed
    final_loss: float | None = None
    mean_ips: float | None = None
    mean_batch_cost: float | None = None
    mean_reader_cost: float | None = None
    missing: tuple[str, ...] = ()
    partial: dict[str, int] = field(default_factory=dict)  # field -> iteration lines without it
    spellings: dict[str, str] = field(default_factory=dict)  # field -> spelling seen first
    loss_lines: int = 0  # lines printing "loss:" outside iteration chunks (explains a log with no timing fields)
    error: str = ""  # the log could not be read

    @property
    def ok(self) -> bool:
        return not self.error and not self.missing

    def metrics(self) -> dict[str, float | int | None]:
        """For ``user_properties`` / the report: iterations (steps run, when the log reports them),
        logged_steps (iteration lines), final_loss, mean_ips, mean costs."""
        return {"iterations": self.iterations, "logged_steps": self.logged_steps,
                "final_loss": self.final_loss, "mean_ips": self.mean_ips,
                "mean_batch_cost_s": self.mean_batch_cost, "mean_reader_cost_s": self.mean_reader_cost}

    def notes(self) -> list[str]:
        """Non-fatal findings (fields printed on only some iteration lines)."""
        return [f"{name} is missing on {count} of {self.logged_steps} iteration lines"
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
        if self.logged_steps == 0:
            seen = (f"{self.loss_lines} line(s) print loss but none prints a timing field"
                    if self.loss_lines else "no line prints loss or a timing field")
            return (f"training log {self.log_path}: no iteration line found ({seen}); "
                    f"missing fields: {names}.\n{fix}")
        return (f"training log {self.log_path}: {self.logged_steps} iteration line(s), but none prints "
                f"{names}.\n{fix}")


def _finite_sum(numbers: list[float]) -> tuple[float, int]:
    """The exact sum of the finite values (``math.fsum``) and how many there are; the common case,
    all finite, takes one pass."""
    try:
        total = math.fsum(numbers)
        if math.isfinite(total):
            return total, len(numbers)
    except (OverflowError, ValueError):  # inf + -inf, or a finite sum beyond float range
        pass
    finite = [v for v in numbers if math.isfinite(v)]
    try:
        return math.fsum(finite), len(finite)
    except OverflowError:
        return sum(finite), len(finite)


_NUMBER_NC = "(?:" + _NUMBER[1:]  # the same number, without a capture group
# Literal tokens of the fast path: each spelling of a field ends with one of these (``avg_ips:``
# and ``ips:`` both end with ``ips:``), so counting them counts the field.
_FAST_TOKENS = {"loss": ("loss",), "avg_reader_cost": ("reader_cost", "data_cost"),
                "avg_batch_cost": ("batch_cost",), "avg_ips": ("ips",)}


def _excluded() -> re.Pattern[str]:
    """Lines that are never iterations: ``[Eval]`` lines and progress bars (PaddleSeg's eval
    prints ``1/2 [====>...] - ETA: 0s - batch_cost: 0.41``, which are not training iterations)."""
    return re.compile(r"(?m)^(?:[^\n]*\[[Ee][Vv][Aa][Ll]\]|[ \t\x08]*\d+/\d+[ \t]+(?:\[[=>.]*\]|-[ \t]))[^\n]*\n?")


class _Stats:
    """Running totals of one log, fed chunk by chunk (text that ends at a line end)."""

    def __init__(self, required: tuple[str, ...], spec_names: bool) -> None:
        self.spellings = {name: [sp for sp, _ in _SPELLINGS[name] if not spec_names or sp in _SPEC_SPELLINGS]
                          for name in _SPELLINGS}
        alt = {name: "|".join(re.escape(sp) for sp in spellings) for name, spellings in self.spellings.items()}
        self.values = {name: re.compile(rf"(?<![\w.])(?:{alt[name]}):\s*{_NUMBER}") for name in _SPELLINGS}
        self.which = {name: re.compile(rf"(?<![\w.])({alt[name]}):\s*{_NUMBER}") for name in _SPELLINGS}
        timing = "|".join(alt[name] for name in _TIMING)
        self.iteration = re.compile(rf"(?m)^[^\n]*?(?<![\w.])(?:{timing}):\s*{_NUMBER_NC}[^\n]*$")
        self.loss_line = re.compile(rf"(?m)^(?=[^\n]*?(?<![\w.])loss:\s*{_NUMBER_NC})()")
        self.exclude = _excluded()
        self.iterations = 0  # iteration lines
        self.steps: int | None = None  # the last step counter an iteration line printed
        self.loss_lines = 0
        self.counts = dict.fromkeys(_SPELLINGS, 0)
        self.sums = dict.fromkeys(_SPELLINGS, 0.0)
        self.finite = dict.fromkeys(_SPELLINGS, 0)
        self.last_loss: float | None = None
        self.first_spelling: dict[str, str] = {}
        self.fast = not spec_names
        self.literal = {name: [re.compile(rf"{re.escape(sp)}: *([-+0-9.eE]+|nan|inf)") for sp in _FAST_TOKENS[name]]
                        for name in _FAST_TOKENS}

    def _feed_regular(self, text: str) -> bool:
        """The fast path, for a chunk where every line is an iteration line printing each field
        exactly once (most of a long training log): literal searches and counts, no per-line work.
        Anything else (eval lines, progress bars, other lines, a field twice) returns ``False``
        and the chunk goes through the line-by-line path."""
        lines = text.count("\n")
        # " - ": progress bars, with or without the bar (``1/2 - batch_cost: 0.41``); eval lines in
        # any casing end with "l]" or "L]"
        if not lines or " - " in text or "l]" in text or "L]" in text:
            return False
        found: dict[str, list[str]] = {}
        for name, patterns in self.literal.items():
            values = [v for pattern in patterns for v in pattern.findall(text)]
            if len(values) != lines:
                return False
            found[name] = values
        if len(self.first_spelling) < len(_SPELLINGS):
            first = text[: text.index("\n")]
            for name in _SPELLINGS:
                match = self.which[name].search(first)
                if match is None:
                    return False  # a spelling the literal tokens caught but the real pattern does not
                self.first_spelling.setdefault(name, match.group(1))
        parsed: dict[str, list[float]] = {}
        try:
            for name, values in found.items():
                parsed[name] = list(map(float, values))
        except ValueError:  # a token followed by something that is not a number
            return False
        self.iterations += lines
        self._count(text[text.rfind("\n", 0, len(text) - 1) + 1:])
        for name, numbers in parsed.items():
            self._add(name, numbers)
        return True

    def _count(self, *lines: str) -> None:
        """The step counter of the last of ``lines`` that prints one."""
        for line in reversed(lines):
            steps = steps_reported(line)
            if steps is not None:
                self.steps = steps
                return

    def feed(self, text: str) -> None:
        if self.fast and self._feed_regular(text):
            return
        lowered = text.lower()
        kept = self.exclude.sub("", text) if "[eval]" in lowered or " - " in text else text
        lines = self.iteration.findall(kept)
        if not lines:  # only a log without iterations needs its loss lines counted (failure message)
            self.loss_lines += len(self.loss_line.findall(text))
            return
        self.iterations += len(lines)
        self._count(*lines)
        body = "\n".join(lines)
        for name in _SPELLINGS:
            found = self.values[name].findall(body)
            if not found:
                continue
            if name not in self.first_spelling:
                match = self.which[name].search(body)
                if match:
                    self.first_spelling[name] = match.group(1)
            self._add(name, [float(v) for v in found])

    def _add(self, name: str, numbers: list[float]) -> None:
        """Count and sum one chunk's values of a field (the sum exact: both paths agree)."""
        total, finite = _finite_sum(numbers)
        self.counts[name] += len(numbers)
        self.sums[name] += total
        self.finite[name] += finite
        if name == "loss" and numbers:
            self.last_loss = numbers[-1]  # the chunk's lines are in order; loss is the last found

    def mean(self, name: str) -> float | None:
        return self.sums[name] / self.finite[name] if self.finite[name] else None


def _chunks(source: str | Path) -> Iterable[str]:
    if isinstance(source, str):  # a \r ends a line, as in a file (_fs.line_chunks)
        text = source.replace("\r\n", "\n").replace("\r", "\n")
        return [text if text.endswith("\n") else text + "\n"]
    return line_chunks(source)


def summarize(text: str | Path, log_path: str = "<log>", *, required: tuple[str, ...] = REQUIRED_FIELDS,
              spec_names: bool = False) -> TrainLogSummary:
    """Check a training log: its text, or a file (:class:`~pathlib.Path`), read in chunks of
    :data:`pytest_tipc._fs.CHUNK` bytes so that time is linear in the size and memory stays bounded."""
    unknown = [name for name in required if name not in _SPELLINGS]
    if unknown:
        raise ValueError(f"unknown training-log field(s) {unknown}; known: {', '.join(_SPELLINGS)}")
    stats = _Stats(required, spec_names)
    for chunk in _chunks(text):
        stats.feed(chunk)
    counts = {name: min(stats.counts[name], stats.iterations) for name in required}
    missing = tuple(name for name in required if counts[name] == 0)
    partial = {name: stats.iterations - n for name, n in counts.items() if 0 < n < stats.iterations}
    return TrainLogSummary(
        log_path=log_path,
        logged_steps=stats.iterations,
        iterations=stats.steps,
        final_loss=stats.last_loss,
        mean_ips=stats.mean("avg_ips"),
        mean_batch_cost=stats.mean("avg_batch_cost"),
        mean_reader_cost=stats.mean("avg_reader_cost"),
        missing=missing,
        partial=partial,
        spellings=dict(stats.first_spelling),
        loss_lines=stats.loss_lines,
    )


def check_train_log(path: str | Path, *, required: tuple[str, ...] = REQUIRED_FIELDS,
                    spec_names: bool = False, display_path: str | None = None) -> TrainLogSummary:
    """Check a training log file; a missing or unreadable file is a failed summary, not an
    exception. ``display_path`` is how messages name the file (default: ``path``)."""
    shown = display_path or str(path)
    try:
        return summarize(Path(path), shown, required=required, spec_names=spec_names)
    except FileNotFoundError:
        return TrainLogSummary(log_path=shown, missing=tuple(required),
                               error="the file does not exist (the training step wrote no log here)")
    except OSError as exc:
        return TrainLogSummary(log_path=shown, missing=tuple(required), error=f"cannot be read ({exc})")

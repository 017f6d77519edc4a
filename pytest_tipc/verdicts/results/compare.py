"""Stored inference results (``test_tipc/results/``): compare_results.py without its crash.

One call per inference item, :func:`check_results`, returns a :class:`ResultsVerdict`. File and
log formats are in :mod:`pytest_tipc.verdicts.results.files`; the xdist-safe update queue (why and how
no two workers ever write the same file) in :mod:`pytest_tipc.verdicts.results.baselines`. Everything the plugin
needs is re-exported here.

Verdict
    Values compare with numpy ``allclose`` semantics, ``|obtained - expected| <= atol + rtol *
    |expected|`` (NaN equals NaN, as upstream's ``assert_allclose``), leaf by leaf through nested
    lists and dicts; strings and bools must be equal, and so must shapes. Default tolerances:

    * fp32: atol = rtol = 1e-3, upstream's defaults.
    * fp16 and int8: atol = rtol = 5e-2. One fp16 rounding is 2^-11 ≈ 5e-4 relative, but CPU
      "fp16" runs MKLDNN bf16 (2^-8 ≈ 4e-3) and TRT fp16 reorders reductions; int8 quantises each
      layer to 1/127 ≈ 8e-3 of its range. A few such errors through a network give 1e-2-scale
      drifts in scores and box coordinates, so 5e-2 passes a correct model while a wrong one
      (other classes, shifted boxes: differences of 0.1 to 1 and more) still fails.

    Override per precision with ``Settings.tolerances`` (``--tipc-tolerance fp16:atol=0.02``).

Failures, never exceptions
    * a mismatch: a table (image, expected, obtained, max abs diff) naming the log and the
      results file, ending with how to update;
    * an image missing from the log, an unparseable result, a malformed results file, a missing
      log: a message each;
    * a missing results file fails when the model has stored results for another precision;
      when it has none at all the comparison is "not configured" (``configured=False``) and the
      item passes. With an update flag the file is created from the log.

Updates
    ``--tipc-update`` (``update="failing"``) asks to rewrite the failing entries and fails;
    ``--tipc-update-all`` (``update="all"``) asks to rewrite every entry the log holds and passes;
    neither drops an entry the log does not hold. The request is in ``ResultsVerdict.update``; put
    it in the session's :class:`UpdateQueue`, whose ``add`` says which entries another cell gave
    another value.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pytest_tipc.layout import shown_path
from pytest_tipc.verdicts.results.baselines import (
    WORKEROUTPUT_KEY,
    UpdateQueue,
    UpdateRequest,
    merge_file,
    write_atomic,
)
from pytest_tipc.verdicts.results.files import (
    CELL_WIDTH,
    MISSING,
    PRECISIONS,
    Form,
    Found,
    ResultsFileError,
    StoredResults,
    extract_image_results,
    find_results,
    is_scalar,
    load_results,
    parse_results_text,
    producible,
    short,
)
from pytest_tipc.verdicts.results.locate import (
    Located,
    expected_results_path,
    locate_results,
    model_results_files,
    precision_of,
    select_results_file,
)
from pytest_tipc.verdicts.results.values import (
    DEFAULT_TOLERANCES,
    Tolerance,
    ValueDiff,
    compare_values,
    tolerance_for,
)

UpdateMode = Literal["none", "failing", "all"]
RESULTS_SUBDIR = "test_tipc/results"  # under the harness root
MAX_TABLE_ROWS = 20

UPDATE_HINT = ("To update the stored results: rerun with --tipc-update to rewrite the failing entries "
               "(the items still fail), or with --tipc-update-all to rewrite every entry (the items pass).")


def update_mode(update: bool, update_all: bool) -> UpdateMode:
    """``--tipc-update-all`` wins over ``--tipc-update``."""
    return "all" if update_all else "failing" if update else "none"


# ---- comparing ----

@dataclass(frozen=True)
class Row:
    key: str
    expected: str  # the stored text
    obtained: str  # the text found in the log ("" when missing or unparseable)
    ok: bool
    max_abs_diff: float | None = None
    problem: str = ""  # "missing from log", "shape (2, 4) vs expected (3, 4)", ...
    where: str = ""
    expected_leaf: Any = None
    obtained_leaf: Any = None

    def cells(self) -> tuple[str, str, str, str]:
        """(image, expected, obtained, max abs diff) as the mismatch table shows them: short
        values whole; long ones as the leaf that differs most (``.scores[0]: 0.5011``)."""

        def show(text: str, leaf: Any) -> str:
            if len(text) <= CELL_WIDTH or not self.where:
                return short(text)
            return short(f"{self.where}: {leaf:g}" if is_scalar(leaf) else f"{self.where}: {leaf}")

        expected = show(self.expected, self.expected_leaf)
        obtained = show(self.obtained, self.obtained_leaf) if self.obtained else f"({self.problem})"
        diff = "-" if self.max_abs_diff is None else f"{self.max_abs_diff:.6g}"
        if self.problem and self.obtained:
            diff = f"{diff} ({self.problem})" if self.max_abs_diff is not None else f"({self.problem})"
        return self.key, expected, obtained, diff


@dataclass
class Comparison:
    results_path: Path
    log_path: str
    precision: str
    tolerance: Tolerance
    rows: list[Row]
    form: Form = "image"

    @property
    def failures(self) -> list[Row]:
        return [row for row in self.rows if not row.ok]

    @property
    def ok(self) -> bool:
        return not self.failures

    def table(self, limit: int = MAX_TABLE_ROWS) -> str:
        """The failing rows: image (or metric), expected, obtained, max abs diff."""
        head = ("image" if self.form == "image" else "metric", "expected", "obtained", "max abs diff")
        body = [row.cells() for row in self.failures[:limit]]
        widths = [max(len(r[i]) for r in [head, *body]) for i in range(4)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [head, *body]]
        lines.insert(1, "  ".join("-" * w for w in widths))
        if len(self.failures) > limit:
            lines.append(f"... and {len(self.failures) - limit} more")
        return "\n".join(lines)


def compare(stored: StoredResults, found: Mapping[str, Found], precision: str, tol: Tolerance,
            log_path: str = "<log>", keys: list[str] | None = None) -> Comparison:
    rows: list[Row] = []
    for key, entry in stored.compared.items():
        if keys is not None and key not in keys:
            continue
        got = found.get(key, Found(key))
        if got.missing:
            rows.append(Row(key, entry.text, "", False, None, "missing from log"))
        elif got.error:
            rows.append(Row(key, entry.text, "", False, None, f"unparseable, {got.error}"))
        else:
            d = compare_values(entry.value, got.value, tol)
            rows.append(Row(key, entry.text, got.text, d.ok, d.max_abs_diff, d.problem, d.where,
                            d.expected_leaf, d.obtained_leaf))
    return Comparison(stored.path, log_path, precision, tol, rows, stored.form)


# ---- the check an inference item runs ----

@dataclass
class ResultsVerdict:
    """``passed`` is the item's verdict for stored results; ``message`` explains a failure (or,
    when passing, what was created/rewritten); ``configured`` is False when the model has no
    stored results at all (nothing was compared); ``update`` goes to the :class:`UpdateQueue`."""

    passed: bool
    message: str = ""
    configured: bool = True
    comparison: Comparison | None = None
    results_path: Path | None = None
    update: UpdateRequest | None = None
    not_applicable: str = ""  # why the stored results cannot be compared with this step's output
    not_compared: str = ""  # no stored results were found: what was tried, and how to point to them
    unseen: int = 0  # stored images neither in the log nor among the run's input images: not compared
    note: str = ""  # says so, for the item's report section

    def metrics(self) -> dict[str, float | int | str | None]:
        if not self.configured:
            return {}
        rows = self.comparison.rows if self.comparison else []
        diffs = [r.max_abs_diff for r in rows if r.max_abs_diff is not None]
        metrics: dict[str, float | int | str | None] = {
            "results_file": str(self.results_path) if self.results_path else None,
            "results_compared": len(rows), "results_failed": sum(1 for r in rows if not r.ok),
            "results_max_abs_diff": max(diffs) if diffs else None}
        return {**metrics, "results_unseen": self.unseen} if self.unseen else metrics


def check_results(*, log_path: str | Path, results_dir: str | Path, model: str, precision: str,
                  tolerance: Tolerance | None = None, update: UpdateMode = "none", owner: str = "",
                  kind: str = "python", pattern: str | None = None, root: str | Path | None = None,
                  inputs: Collection[str] | None = None, inputs_from: str = "") -> ResultsVerdict:
    """Compare one inference log with its stored results; never raises for bad inputs.

    ``owner`` is the item's nodeid (it orders competing updates); ``root`` makes paths in
    messages relative (the rootdir); ``pattern`` see :func:`locate_results`. ``inputs`` are the
    names of the images the run was given (from ``inputs_from``, its image dir), when known: a
    stored image that is neither in the log nor among them was not this run's to infer (a lite
    image set, 3 of PaddleOCR's 49), so it is not compared (``unseen``) rather than "missing".
    """
    tol = tolerance or tolerance_for(precision)
    base = Path(root) if root is not None else None
    log_path = Path(log_path)
    log_shown = shown_path(log_path, base)
    try:
        with open(log_path, "rb"):
            pass
    except OSError as exc:
        return ResultsVerdict(False, f"inference log {log_shown} cannot be read ({exc}); no stored-results "
                                     "comparison was possible. Fix: look at the inference step's failure first.")
    log_text = log_path  # streamed wherever it is read (files.log_lines)
    located = locate_results(results_dir, model, precision, kind, pattern)
    path = located.path
    if path is None:
        return _missing_file(log_text, log_shown, results_dir, model, precision, kind, update, owner, base, located)
    shown = shown_path(path, base)
    try:
        stored = load_results(path)
    except ResultsFileError as exc:
        message = str(exc).replace(str(path), shown)
        if update == "all":
            request = _request_from_log(log_text, path, "image", owner)
            if request is not None:
                return ResultsVerdict(True, f"{message}\n--tipc-update-all: {shown} is rewritten from {log_shown}.",
                                      results_path=path, update=request)
        return ResultsVerdict(False, message, results_path=path)
    keys = producible(stored)
    evals = [key for key in stored.compared if key not in keys]
    if evals:  # eval metrics count only when this log prints them (an inference script does not)
        printed = find_results(log_text, stored, evals)
        keys += [key for key in evals if not printed[key].missing]
    if not keys:
        names = ", ".join(list(stored.compared)[:6]) or "none"
        return ResultsVerdict(True, configured=False, results_path=path, not_applicable=(
            f"{shown} holds evaluation metrics ({names}) that the inference step never prints; "
            "they describe the eval step, not this inference, so nothing is compared"))
    found = find_results(log_text, stored, keys)
    unseen = [k for k in keys if found[k].missing and k not in inputs] if inputs is not None else []
    note = (f"{len(unseen)} of the {len(keys)} stored images of {shown} are neither in {log_shown} nor among this "
            f"run's images ({inputs_from}): not compared") if unseen else ""
    keys = [k for k in keys if k not in unseen]
    if not keys:
        return ResultsVerdict(True, configured=False, results_path=path, not_compared=note, unseen=len(unseen))
    comparison = compare(stored, found, precision, tol, log_shown, keys)
    intro = (f"stored results differ for {len(comparison.failures)} of {len(comparison.rows)} "
             f"{'images' if stored.form == 'image' else 'metrics'}\n"
             f"  log:     {log_shown}\n  results: {shown} ({precision}: {tol})\n\n")
    if update == "all":
        entries = [[r.key, stored.entries[r.key].label, r.obtained] for r in comparison.rows if r.obtained]
        if stored.form == "image":
            known = {e[0] for e in entries}
            extra = extract_image_results(log_text)
            entries += [[k, k, f.text] for k, f in extra.items() if k not in known and k not in stored.entries]
        request = UpdateRequest(path=str(path), form=stored.form, mode="replace", owner=owner, entries=entries)
        note = (f"--tipc-update-all: the entries of {shown} found in {log_shown} are rewritten at the end of the "
                "session; the others are kept.")
        if not comparison.ok:
            note = intro + comparison.table() + "\n\n" + note
        return ResultsVerdict(True, note, comparison=comparison, results_path=path, update=request)
    if comparison.ok:
        return ResultsVerdict(True, comparison=comparison, results_path=path, unseen=len(unseen), note=note)
    message = intro + comparison.table() + "\n\n"
    request = None
    if update == "failing":
        fixable = [[r.key, stored.entries[r.key].label, r.obtained] for r in comparison.failures if r.obtained]
        if fixable:
            request = UpdateRequest(path=str(path), form=stored.form, mode="patch", owner=owner, entries=fixable)
        unfixable = len(comparison.failures) - len(fixable)
        message += (f"--tipc-update: {len(fixable)} failing entr{'y' if len(fixable) == 1 else 'ies'} of {shown} "
                    "will be rewritten at the end of the session; rerun without it to check.")
        if unfixable:
            message += f" {unfixable} entr{'y is' if unfixable == 1 else 'ies are'} missing from the log and kept."
    else:
        message += UPDATE_HINT
    return ResultsVerdict(False, message, comparison=comparison, results_path=path, update=request)


def _request_from_log(log_text: str | Path, path: Path, form: str, owner: str) -> UpdateRequest | None:
    found = extract_image_results(log_text)
    if not found:
        return None
    return UpdateRequest(path=str(path), form=form, mode="replace", owner=owner,
                         entries=[[k, k, f.text] for k, f in found.items()])


def _missing_file(log_text: str | Path, log_shown: str, results_dir: str | Path, model: str, precision: str,
                  kind: str, update: UpdateMode, owner: str, base: Path | None, located: Located) -> ResultsVerdict:
    target = expected_results_path(results_dir, model, precision, kind)
    shown = shown_path(target, base)
    others = located.others
    not_compared = (f"no stored results for {model} in {shown_path(Path(results_dir), base)}/ (tried "
                    f"{', '.join(located.tried)}), so nothing was compared. Fix: name its file in the ini option "
                    f"tipc_results_map (`{model} = python_<name>_results_*.txt`), or create "
                    f"{target.name} with --tipc-update-all")
    if update == "none":
        if not others:
            return ResultsVerdict(True, configured=False, not_compared=not_compared)
        names = ", ".join(shown_path(p, base) for p in others)
        return ResultsVerdict(False, f"no stored {precision} results for {model}: expected {shown} "
                                     f"(found {names}).\nTo create it from {log_shown}: rerun with --tipc-update "
                                     "(the item fails once) or --tipc-update-all (it passes).", results_path=target)
    request = _request_from_log(log_text, target, "image", owner)
    if request is None and not others:  # nothing stored, nothing to store: not configured
        return ResultsVerdict(True, configured=False, not_compared=not_compared)
    if request is None:
        return ResultsVerdict(False, f"no stored {precision} results for {model} ({shown} does not exist), and "
                                     f"{log_shown} has no `<image>\\t<json>` result line to create it from. "
                                     "Fix: make the inference script print one such line per image.",
                              results_path=target)
    created = (f"{shown} did not exist; it is created at the end of the session with "
               f"{len(request['entries'])} entries from {log_shown}")
    if update == "all":
        return ResultsVerdict(True, created + ".", results_path=target, update=request)
    return ResultsVerdict(False, created + "; rerun without --tipc-update to check against it.",
                          results_path=target, update=request)


__all__ = [
    "DEFAULT_TOLERANCES",
    "MISSING",
    "PRECISIONS",
    "RESULTS_SUBDIR",
    "UPDATE_HINT",
    "WORKEROUTPUT_KEY",
    "Comparison",
    "Form",
    "Found",
    "ResultsFileError",
    "ResultsVerdict",
    "Row",
    "StoredResults",
    "Tolerance",
    "UpdateMode",
    "UpdateQueue",
    "UpdateRequest",
    "ValueDiff",
    "check_results",
    "compare",
    "compare_values",
    "expected_results_path",
    "extract_image_results",
    "find_results",
    "load_results",
    "merge_file",
    "model_results_files",
    "parse_results_text",
    "precision_of",
    "select_results_file",
    "tolerance_for",
    "update_mode",
    "write_atomic",
]

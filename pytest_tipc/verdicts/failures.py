"""Every failure wording: what a failed step, a failed cell and a failed dependency say.

Execution keeps the facts of a step (:class:`~pytest_tipc.execution.step.runner.StepResult`: exit
code, timeout, missing artifacts, the log, …); the sentences made of them live here:

* :func:`headline` — one line: the step, what went wrong, and why (the known cause, ``causes.json``,
  or the first error line of its log); ``results_python.log`` and the flaky attempts use it;
* :func:`report` — a failed step's full report: the headline, the cause's block, the command, cwd,
  env, exit code, log, rerun command and the log's last lines;
* :func:`cell_report` — a cell's report (every step's verdict with ``--tipc-keep-going``);
* :func:`dependency` — what an item says when the train/model cell it needs failed;
* :func:`refusal` — why a step whose interpreter cannot import paddle was not started;
* :func:`prepare_report` — a failed (or refused) data preparation: the log's first error line, the
  script's step report, and what an earlier run left behind;
* :func:`item_headline` — the one-line message of a failed item (JUnit ``tipc_cause``).

The engine gets them through its :class:`~pytest_tipc.execution.judge.Judge` (made by
:func:`pytest_tipc.verdicts.check.judge`), so execution imports nothing from verdicts.
"""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_tipc.execution.once import OnceState
    from pytest_tipc.execution.prepare import PrepareFailure
    from pytest_tipc.execution.step.runner import StepResult
    from pytest_tipc.model.cells import Cell


def reason(result: StepResult) -> tuple[str, Any]:
    """Why the step failed, in a few words, and the known cause (``verdicts.causes``) if any."""
    from pytest_tipc.verdicts import causes

    python = result.argv[0] if result.argv else ""
    if result.elsewhere:
        cause = causes.misplaced_artifact(*result.elsewhere[0], python=python, command=shlex.join(result.argv))
        if cause is not None:
            return cause.cause, cause
    return causes.reason(Path(result.log_path), python=python, workarounds=result.workarounds)


def outcome(result: StepResult) -> str:
    """What happened to the step, without why."""
    if result.io_error:  # the step's own verdict first, then what the plugin could not write
        return f"{outcome(dataclasses.replace(result, io_error=''))}; but the plugin {result.io_error}"
    if result.error:
        return f"step {result.kind} could not start: {result.error}"
    if result.timed_out:
        return f"timed out after {result.timeout:g} s in step {result.kind}; its process tree was killed"
    if result.rc != 0:
        return f"step {result.kind} failed with exit code {result.rc}"
    if result.missing:
        return f"step {result.kind} exited 0 but did not leave {', '.join(result.missing)}"
    if result.unproven:
        return f"step {result.kind} exited 0 but {result.unproven}"
    return f"step {result.kind} passed"


def headline(result: StepResult) -> str:
    """One line: the step, what went wrong, and why (the known cause or the first error line)."""
    text = outcome(result)
    if result.ok:
        return text
    why, _ = reason(result)
    return f"{text}: {why}" if why else text


def report(result: StepResult, n: int = 50) -> str:
    """A failed step's full report, its headline first."""
    why, cause = reason(result)
    head = outcome(result)
    lines = [f"{head}: {why}" if why else head]
    if cause is not None:
        lines.append(cause.block())
    lines += [
        f"command: {shlex.join(result.argv)}",
        f"cwd: {result.cwd}",
        f"env: {result.env_text()}",
        f"exit code: {'none (timed out)' if result.timed_out else result.rc}",
    ]
    lines += [f"missing artifact: {m}" for m in result.missing]
    lines += [f"note: {note}" for note in result.notes]
    lines.append(f"log: {result.log_path}")
    if result.previous_log:
        lines.append(f"previous log: {result.previous_log} (the earlier run's, moved aside)")
    lines.append(f"rerun: {rerun_command(result)}")
    for rank, node in enumerate(result.nodes):
        state = "timed out" if node.timed_out else f"exit code {node.rc}"
        lines.append(f"node {rank}: {state}, log {node.log_path}: {shlex.join(node.argv)}")
    shown = [node for node in result.nodes if not node.ok] or [result]
    for one in shown if cause is None or cause.tail else ():
        lines.append(f"----- last {n} lines of {one.log_path} -----")
        lines.append(collapse_runs(one.tail(n)) or "(empty log)")
    return "\n".join(lines)


def cell_report(results: list[StepResult]) -> str | None:
    """The report of the first failed step; with more than one step run (``--tipc-keep-going``),
    every step's verdict after its headline and the reports of the later failures below."""
    failed = [r for r in results if not r.ok]
    if not failed:
        return None
    first, _, rest = report(failed[0]).partition("\n")
    if len(results) == 1:
        return f"{first}\n{rest}"
    verdicts = ", ".join(f"{r.kind} passed" if r.ok else headline(r).removeprefix("step ") for r in results)
    later = [f"----- then: {report(r, 20)}" for r in failed[1:]]
    return "\n".join([first, f"steps (--tipc-keep-going): {verdicts}", rest, *later])


def dependency(state: OnceState, cell: Cell, parent: Cell) -> str:
    """What ``cell`` reports when ``parent``, the cell it needs, failed (``state`` is its run)."""
    role = "whose model this cell uses" if cell.role == "infer" else "which this cell starts from"
    return dependency_failure(state, f"{parent.kind}[{parent.key}], {role},")


def dependency_failure(state: OnceState, what: str) -> str:
    """What a dependent reports when this producer failed, in 2 lines: what it needed
    (``what`` names that item) and why that failed (the first line of its report, which leads
    with the known cause), then that item's log. The full report is that item's own."""
    if state.skipped:
        return f"{what} was skipped: {state.skipped}"
    head = (f"{what} failed its {state.check} check" if state.check else
            f"{what} failed in step {state.failed_step}" if state.failed_step else f"{what} failed")
    why = next((line.strip() for line in state.failure.splitlines() if line.strip()), "")
    lines = [f"{head}: {why}" if why else head]
    if state.log_path:
        lines.append(f"log: {state.log_path} (the full report is that item's)")
    return "\n".join(lines)


def refusal(problem: str, unwritten: str) -> str:
    """The error of a first step refused because its interpreter cannot import paddle (``problem``),
    and what the plugin could not write (``unwritten``: its log) if anything."""
    return f"{problem}; and the plugin {unwritten}" if unwritten else problem


def prepare_report(failure: PrepareFailure) -> str:
    """A failed data preparation: why (the log's first error line, else its last line), the
    script's step report, and the fix when an earlier run of it left files this run trips over."""
    where = f"data preparation for {failure.config} ({failure.mode})"
    if failure.refused:
        return f"{where} was not run: {failure.refused}"
    if failure.result is None:
        text = f"data preparation failed: {failure.what} raised {failure.raised}"
    else:
        cause = ""
        if failure.first_error:
            cause = f"; first error at {failure.log_path}:{failure.first_error[0]}: {failure.first_error[1]}"
        elif failure.last_line:
            cause = f"; its log ends with: {failure.last_line}"
        text = f"{where} failed{cause}\n{report(failure.result)}"
    if failure.left:
        why = (f" (its log shows a prompt that read end-of-file at {failure.log_path}:{failure.prompt[0]}: "
               f"{failure.prompt[1]})" if failure.prompt else "")
        shown = " ".join(shlex.quote(p) for p in failure.left)
        text += (f"\nan earlier run of this preparation left files that this run trips over{why}; the script is "
                 f"not idempotent. Fix: remove what it made, from {failure.root}: rm -rf {shown} "
                 "(then the next session prepares again), or keep them and run with --tipc-prepare never.")
    return text


def item_headline(failure: str) -> str:
    """The one-line message of a failed item: the first line of its failure (the step and why)."""
    return failure.split("\n", 1)[0]


def rerun_command(result: StepResult) -> str:
    unset = [f"-u {k}" for k, v in result.env if v is None]
    assign = [f"{k}={shlex.quote(v)}" for k, v in result.env if v is not None]
    prefix = " ".join((["env", *unset] if unset else []) + assign)
    command = f"{prefix} {shlex.join(result.argv)}" if prefix else shlex.join(result.argv)
    return f"cd {shlex.quote(str(result.cwd))} && {command} > {shlex.quote(str(result.log_path))} 2>&1"


def collapse_runs(text: str, least: int = 3) -> str:
    """Runs of ``least`` or more identical lines as the line once and ``… same line ×N``."""
    out: list[str] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        end = index
        while end + 1 < len(lines) and lines[end + 1] == lines[index]:
            end += 1
        count = end - index + 1
        out += [lines[index], f"… same line ×{count - 1}"] if count >= least else lines[index:end + 1]
        index = end + 1
    return "\n".join(out)

"""What a TIPC item runs for real: its cell's steps, on leased devices, after the cell it needs.

* A train or model cell runs at most once per session (across xdist workers); the item of that
  cell and every infer item that needs its model share that one run (:mod:`.once`).
* An infer cell first makes sure its train/model cell ran, then runs its own steps. A train/model
  cell whose steps passed is checked at once by whoever ran it (``Judge.checks``: its training log), and
  the verdict goes into its state, so a dependent fails on a failed check as on a failed step.
* Steps run in order and stop at the first failure (with ``--tipc-keep-going`` they all run, as
  the harness does, and the report shows each step's verdict). Each executed step appends its
  status line to ``results_python.log`` (naming the log it wrote) and, with ``--tipc-record``, the
  command actually run.
* The first step is refused when its interpreter cannot import paddle while pytest's can.

The engine judges nothing itself: what a failure says, whether a failed step is worth a rerun and
whether a step that exited 0 showed its work are the verdicts stage's rules, passed in as a
:class:`Judge` (:func:`pytest_tipc.verdicts.check.judge`), so execution imports nothing from verdicts.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import threading
import time
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pytest_tipc._fs import WriteError
from pytest_tipc.collection.markers import gpus_to_run
from pytest_tipc.execution import devices, workarounds
from pytest_tipc.execution.judge import CellOutcome, Judge
from pytest_tipc.execution.once import OnceState, run_once
from pytest_tipc.execution.prepare import DEFAULT_TIMEOUT, PrepareError, PrepareHook, prepare_data
from pytest_tipc.execution.processes import proctree
from pytest_tipc.execution.step import nodes, runner
from pytest_tipc.execution.step.interpreter import is_python_name, paddle_problem
from pytest_tipc.execution.step.ports import free_port
from pytest_tipc.execution.step.runner import Command, StepResult, command_for, not_started, run_step
from pytest_tipc.layout import (
    HARNESS_OUTPUT,
    append_status,
    escape,
    relocate,
    relocated_log_dir,
    step_log_path,
    write_step_log,
)
from pytest_tipc.model.cells import Cell, Plan, Step
from pytest_tipc.model.record import append_records, step_record

if TYPE_CHECKING:
    from pytest_tipc.execution.live import Board
    from pytest_tipc.settings import Settings

__all__ = ["Engine", "EngineSettings", "PrepareError"]


@dataclass(frozen=True)
class EngineSettings:
    """What the engine needs: the user's options (derived from :class:`~pytest_tipc.settings.Settings`
    by :meth:`derived`) and the session's places (state and cache dirs, worker, output stream).
    The harness root is not here: every plan carries the root it was made for (``Plan.root``)."""

    state_dir: Path  # shared by all xdist workers of one run
    cache_dir: Path | None  # persistent between runs (None: pytest's cache is off)
    output_dir: Path | None = None
    timeout: float | None = None
    stage_timeouts: Mapping[str, float] = field(default_factory=dict)
    record_path: Path | None = None
    stream: IO[str] | None = None
    python: str | None = None
    gpus: tuple[str, ...] | None = None  # None: discover
    worker_id: str = "master"
    local_nodes: bool = False
    prepare_command: tuple[str, ...] | None = None
    kill_grace: float = 3.0
    keep_going: bool = False  # run a cell's remaining steps after a failed one (--tipc-keep-going)
    prepare_policy: str = "auto"  # --tipc-prepare: auto, always, never
    progress: Board | None = None  # publishes the running step for the live status line
    workarounds: tuple[str, ...] = ()  # --tipc-workaround (execution/workarounds.py)
    reruns: int = 0  # --tipc-reruns: rerun a failed step up to this many times (not for a deterministic cause)

    @classmethod
    def derived(cls, settings: Settings, *, state_dir: Path, cache_dir: Path | None, **session: Any) -> EngineSettings:
        """The engine settings of a session: the user's options from :class:`Settings`, the session's
        places (``state_dir``, ``cache_dir``) and what ``session`` passes (``stream``, ``worker_id``,
        ``progress``, ``reruns``, ``kill_grace``)."""
        return cls(state_dir=state_dir, cache_dir=cache_dir, output_dir=settings.output, timeout=settings.timeout,
                   stage_timeouts=settings.stage_timeouts, record_path=settings.record, python=settings.python,
                   gpus=settings.gpus, local_nodes=settings.local_nodes, prepare_command=settings.prepare,
                   keep_going=settings.keep_going, prepare_policy=settings.prepare_policy,
                   workarounds=settings.workarounds, **session)


class Engine:
    def __init__(self, settings: EngineSettings, prepare_hook: PrepareHook | None = None) -> None:
        self.settings = settings
        self.prepare_hook = prepare_hook
        self._inventory: devices.Inventory | None = None
        self._prepared: set[tuple[str, str]] = set()

    # -- devices and skipping -------------------------------------------------------------

    @property
    def inventory(self) -> devices.Inventory:
        if self._inventory is None:
            self._inventory = devices.discover(self.settings.gpus)
        return self._inventory

    @property
    def pool(self) -> devices.GpuPool:
        return devices.GpuPool(self.settings.state_dir / "gpu-lease", self.inventory.ids)

    def gpus_for(self, cell: Cell) -> int:
        """GPUs to lease: what the cell needs, except a multi-node cell on a machine without
        GPUs, which is rehearsed on CPU."""
        if nodes.multi_node_launch(cell) is not None and len(self.inventory) == 0:
            return 0
        return devices.gpus_needed(cell)

    def skip_reason(self, plan: Plan, cell: Cell) -> str | None:
        """Why this machine cannot run the cell (or the cell whose model it needs), or ``None``."""
        if cell.skip:
            return cell.skip
        reason = nodes.skip_reason(cell, self.settings.local_nodes) or devices.skip_reason(
            cell, self.gpus_for(cell), self.inventory, cpu_cells=_has_cpu_cells(plan))
        if reason:
            return reason
        parent = _parent(plan, cell)
        if parent is not None:
            inherited = self.skip_reason(plan, parent)
            if inherited:
                return f"its model comes from {parent.kind}[{parent.key}], which is skipped: {inherited}"
        return None

    # -- data ------------------------------------------------------------------------------

    def prepare(self, config_path: Path, mode: str, root: Path, judge: Judge) -> None:
        """Prepare data for the config (whose plan's root is ``root``) once (cached); raises
        :class:`PrepareError` (with ``judge``'s report of a failed script)."""
        memo = (os.path.abspath(config_path), mode)
        if memo in self._prepared:
            return
        s = self.settings
        prepare_data(config_path, mode, root, state_dir=s.state_dir, cache_dir=s.cache_dir,
                     log_dir=s.output_dir or root / HARNESS_OUTPUT, command=s.prepare_command,
                     hook=self.prepare_hook, timeout=s.stage_timeouts.get("prepare", s.timeout or DEFAULT_TIMEOUT),
                     stream=s.stream, python=s.python, policy=s.prepare_policy, board=s.progress,
                     report=judge.prepare_report)
        self._prepared.add(memo)

    # -- cells -----------------------------------------------------------------------------

    def run_cell(self, plan: Plan, cell: Cell, judge: Judge) -> CellOutcome:
        """Run the cell (see the module docstring) from the harness root the plan was made for;
        ``judge.checks`` judges a train/model cell (this one or the one it needs) whose steps passed."""
        if not plan.root:
            raise ValueError(f"the {plan.dialect} plan of {plan.model_name} has no harness root (Plan.root)")
        root = Path(plan.root)
        reason = self.skip_reason(plan, cell)
        if reason:
            return CellOutcome(False, skipped=reason)
        if cell.kind in ("train", "model"):
            state = self._ensure(plan, cell, root, judge)
            results = [StepResult.from_dict(r) for r in state.data.get("results", [])]
            # a failed check of its own (not of the cell it needs): its steps passed, and its item
            # reports the check, with the metrics, from ``checked``
            steps_ok = state.ok or (bool(state.check) and state.key == _once_key(plan, cell, root))
            return CellOutcome(steps_ok, results, None if steps_ok else state.failure or None, state.skipped,
                               devices=tuple(state.data.get("devices", ())), reused=state.reused,
                               checked=state.data.get("checked"))
        dependency, started = None, time.monotonic()
        if cell.requires is not None:
            dependency = self._ensure_parent(plan, cell, root, judge)
            if not dependency.ok:
                return CellOutcome(False, failure=dependency.failure, dependency=dependency,
                                   waited=time.monotonic() - started)
        waited = time.monotonic() - started
        results, failure, leased = self._run_steps(plan, cell, root, judge)
        return CellOutcome(failure is None, results, failure, dependency=dependency, devices=leased, waited=waited)

    def close(self) -> None:
        """Kill whatever step trees are still running (interrupts, internal errors)."""
        proctree.kill_all_running(grace=1.0)

    def log_dir(self, plan: Plan, root: Path) -> Path:
        """Where the plan's logs and ``results_python.log`` go."""
        if self.settings.output_dir is not None:
            return relocated_log_dir(plan, self.settings.output_dir)
        return root / plan.log_dir

    def _ensure(self, plan: Plan, cell: Cell, root: Path, judge: Judge) -> OnceState:
        """A train/model cell's one run of the session, after the cells it needs (template
        pact/fpgm cells start from a norm_train checkpoint)."""
        if cell.requires is not None:
            dependency = self._ensure_parent(plan, cell, root, judge)
            if not dependency.ok:
                return dependency
        return run_once(self.settings.state_dir, _once_key(plan, cell, root),
                        lambda: self._produce(plan, cell, root, judge), worker=self.settings.worker_id)

    def _ensure_parent(self, plan: Plan, cell: Cell, root: Path, judge: Judge) -> OnceState:
        """The state of the cell ``cell`` needs; when that failed, ``failure`` says so for ``cell``."""
        parent = _parent(plan, cell)
        if parent is None:
            return OnceState("", False, failure=f"{cell.kind}[{cell.key}] needs cell {cell.requires!r}, which the "
                                                "plan does not have (a planner bug)")
        state = self._ensure(plan, parent, root, judge)
        return state if state.ok else replace(state, failure=judge.dependency(state, cell, parent))

    def _produce(self, plan: Plan, cell: Cell, root: Path, judge: Judge) -> OnceState:
        results, failure, leased = self._run_steps(plan, cell, root, judge)
        durations: dict[str, float] = {}
        for result in results:
            durations[result.kind] = durations.get(result.kind, 0.0) + result.duration
        data: dict[str, Any] = {"results": [r.to_dict() for r in results], "devices": list(leased)}
        if failure is None and judge.checks is not None:
            checked = data["checked"] = judge.checks(plan, cell, results)
            if checked.get("check"):
                shown = next((r for r in results if r.kind == "train"), results[-1] if results else None)
                return OnceState("", False, log_path=str(shown.log_path) if shown else None,
                                 failure=str(checked.get("message", "")), check=str(checked["check"]),
                                 durations=durations, data=data)
        if failure is None:
            return OnceState("", True, durations=durations, data=data)
        last = next(r for r in results if not r.ok)  # the first failure (others follow with --tipc-keep-going)
        return OnceState("", False, failed_step=last.kind, log_path=str(last.log_path), tail=last.tail(50),
                         failure=failure, durations=durations, data=data)

    def _run_steps(self, plan: Plan, cell: Cell, root: Path,
                   judge: Judge) -> tuple[list[StepResult], str | None, tuple[str, ...]]:
        log_dir = self.log_dir(plan, root)
        steps = list(cell.steps)
        if self.settings.output_dir is not None:
            steps = [relocate(step, plan.log_dir, str(log_dir), root) for step in steps]
        ids, _ = devices.card_ids(cell)
        results: list[StepResult] = []
        if steps:
            refused = self._refuse_interpreter(steps[0], self._log_path(cell, steps[0], 0, root, log_dir), root,
                                               (log_dir, root), judge)
            if refused is not None:
                return [refused], judge.report(refused), ()
        with self.pool.lease(self.gpus_for(cell)) as leased:
            mapping = devices.device_map(ids, leased) if leased else {}
            for index, step in enumerate(steps):
                if step.kind == "analysis" and not _script_exists(step, root):
                    continue  # no PaddlePaddle/benchmark checkout: verdicts/speed.py parses the log instead
                if leased:
                    step = devices.apply_lease(step, mapping, leased)
                log_path = self._log_path(cell, step, index, root, log_dir)
                escaped = escape(log_path, log_dir, root)  # a symlink made since collection checked the plan
                result = not_started(step, root, log_path, escaped) if escaped else self._run_step(
                    cell, step, log_path, root, leased)
                if result.ok:  # exit 0 and its artifacts: does its log show the work (evidence.py)?
                    result = _prove(result, cell, plan.dialect, judge)
                if not escaped and not result.ok and self.settings.reruns:
                    result = self._rerun(cell, step, log_path, root, leased, result, plan.dialect, judge)
                status = step.status
                if step.log and log_path.name != os.path.basename(step.log):  # the log as written
                    status = status.replace(os.path.basename(step.log), log_path.name)
                for choice in step.choices:  # the path actually used (Seg export: iter_N, not best_model)
                    if choice.fallback and any(choice.preferred in word for word in result.argv) and not any(
                            choice.preferred in word for word in step.argv):
                        status = status.replace(choice.fallback, choice.preferred)
                try:
                    append_status(log_dir, status, result.ok, "" if result.ok or result.rc else judge.headline(result))
                except WriteError as exc:  # the step's own verdict stays in the report
                    result = replace(result, io_error=str(exc))
                results.append(result)
                if not result.ok and not self.settings.keep_going:
                    return results, judge.report(result), leased
        return results, judge.cell_report(results), leased

    def _rerun(self, cell: Cell, step: Step, log_path: Path, root: Path, leased: tuple[str, ...],
               failed: StepResult, dialect: str, judge: Judge) -> StepResult:
        """``--tipc-reruns``: run a failed step again, up to the limit, unless its failure has a
        deterministic cause (``judge.rerunnable``: :func:`~pytest_tipc.verdicts.flaky.rerunnable`);
        each failed attempt's log is moved aside (``name.attempt1.log``) and the attempts travel with
        the last result."""
        attempts: list[StepResult] = []
        result = failed
        while not result.ok and len(attempts) < self.settings.reruns and judge.rerunnable(result)[0]:
            attempts.append(replace(result, log_path=runner.keep_attempt_log(log_path, len(attempts) + 1)))
            result = self._run_step(cell, step, log_path, root, leased)
            if result.ok:
                result = _prove(result, cell, dialect, judge)
        return replace(result, retries=tuple(attempts)) if attempts else result

    def warm(self, plan: Plan, cell: Cell) -> None:
        """Probe the interpreter of the cell's first step (does it start, can it import paddle, does
        it need the auto_log shim: each result cached per process) in a background thread, while the
        item prepares data or waits for its training, so the probes are off the critical path."""
        if not cell.steps or plan.root is None:
            return
        step, root = cell.steps[0], Path(plan.root)

        def probe() -> None:
            try:
                self._paddle_problem(step, root)
            except Exception:  # the step itself reports whatever goes wrong here
                pass

        threading.Thread(target=probe, name="tipc-warm", daemon=True).start()

    def _paddle_problem(self, step: Step, root: Path, log_path: Path | None = None) -> tuple[Command, str]:
        """The step's command, and why its Python interpreter cannot import paddle while pytest's can
        (``""``: it can, or the step is no Python; :func:`paddle_problem` caches the answer)."""
        command = command_for(step, root, log_path=log_path, python=self.settings.python)
        if not command.argv or not is_python_name(command.argv[0]):
            return command, ""
        return command, paddle_problem(command.argv[0], command.env)

    def _refuse_interpreter(self, step: Step, log_path: Path, root: Path,
                            within: tuple[Path, ...], judge: Judge) -> StepResult | None:
        """A failed result for a first step whose interpreter cannot import paddle while pytest's
        can (every step would fail with ModuleNotFoundError), else ``None``; the refusal is its log."""
        command, problem = self._paddle_problem(step, root, log_path)
        if not problem:
            return None
        previous, unwritten = write_step_log(log_path, f"[tipc] {problem}\n", within)
        return StepResult(step.kind, command.argv, command.cwd, command.changes, None, False, 0.0, log_path,
                          error=judge.refusal(problem, unwritten),
                          notes=command.notes, previous_log=previous)

    @staticmethod
    def _log_path(cell: Cell, step: Step, index: int, root: Path, log_dir: Path) -> Path:
        """The harness's log name; an infer log also names the cell whose model it used, because
        upstream names it by device/precision/batch only and each trainer overwrote the last one
        (docs/deviations.md) — under xdist they would even be written at the same time."""
        return step_log_path(cell, step, index, root, log_dir)

    def _run_step(self, cell: Cell, step: Step, log_path: Path, root: Path, leased: tuple[str, ...]) -> StepResult:
        s = self.settings
        # the user's limit for the stage, or the harness's own (Det's `timeout 5m`), whichever is smaller
        limits = [t for t in (s.stage_timeouts.get(step.kind, s.timeout), step.timeout) if t is not None]
        timeout = min(limits) if limits else None
        if s.stream is not None:
            s.stream.write(f"\n[tipc] {cell.kind}[{cell.key}] {step.kind}: {shlex.join(step.argv)}\n")
            s.stream.flush()
        board = s.progress.step(f"{cell.kind}[{cell.key}]", step.kind, log_path) if s.progress else nullcontext()
        with board:
            result, ran = self._launch(step, log_path, root, leased, timeout)
        if s.record_path is not None:
            try:
                append_records(s.record_path, [step_record(step, argv=r.argv, cuda_visible_devices=r.cuda_visible_devices)
                                               for r in ran])
            except WriteError as exc:
                result = replace(result, io_error=str(exc))
        return result

    def _launch(self, step: Step, log_path: Path, root: Path, leased: tuple[str, ...],
                timeout: float | None) -> tuple[StepResult, list[StepResult]]:
        s = self.settings
        if step.launch is not None and step.launch.nnodes >= 2:
            per_node = len(leased) // step.launch.nnodes
            node_devices = [leased[i * per_node:(i + 1) * per_node] for i in range(step.launch.nnodes)] \
                if leased else None
            result = nodes.run_nodes(step, root, port=free_port(s.worker_id), node_devices=node_devices,
                                     log_path=log_path, timeout=timeout, stream=s.stream, python=s.python,
                                     kill_grace=s.kill_grace, env=workarounds.step_env(s.workarounds))
            ran = list(result.nodes)
        else:
            result = run_step(step, root, log_path=log_path, timeout=timeout, stream=s.stream, python=s.python,
                              kill_grace=s.kill_grace, env=workarounds.step_env(s.workarounds))
            ran = [result]
        return result, ran


def _prove(result: StepResult, cell: Cell, dialect: str, judge: Judge) -> StepResult:
    """The result, failed when its step exited 0 without the evidence its kind needs."""
    why, note = judge.unproven(result.kind, cell.kind, Path(result.log_path), result.argv, Path(result.cwd), dialect,
                         result.started or None)
    return replace(result, unproven=why, notes=(*result.notes, note)) if why else result


def _script_exists(step: Step, root: Path) -> bool:
    """Whether a benchmark ``analysis`` step's script (``${BENCHMARK_ROOT}/scripts/analysis.py``,
    the first ``.py`` word of its argv) is there to run; without it the step is not run and the
    bench cell's speed verdict applies analysis.py's rule itself (pytest_tipc.verdicts.speed)."""
    script = next((word for word in step.argv[1:] if word.endswith(".py")), "")
    return bool(script) and (root / step.cwd / script).is_file()


def _has_cpu_cells(plan: Plan) -> bool:
    """Whether the skip hint's selection (``-m "not gpu"``) finds a cell of this config."""
    return any(gpus_to_run(cell.role, cell.field_map) == 0 for cell in plan.cells)


def _once_key(plan: Plan, cell: Cell, root: Path) -> str:
    """The train-once key of a train/model cell: its model, mode, cell and steps (as run from ``root``)."""
    steps = hashlib.sha256(repr((root, plan.log_dir, cell.steps)).encode()).hexdigest()[:16]
    return f"{plan.model_name}-{plan.mode}-{cell.kind}-{cell.key}-{steps}"


def _parent(plan: Plan, cell: Cell) -> Cell | None:
    if cell.requires is None:
        return None
    return next((c for c in plan.cells if c.key == cell.requires and c.role != "infer"), None)

"""What a TIPC item runs for real: its cell's steps, on leased devices, after the cell it needs.

* A train or model cell runs at most once per session (across xdist workers); the item of that
  cell and every infer item that needs its model share that one run (:mod:`.once`).
* An infer cell first makes sure its train/model cell ran, then runs its own steps.
* Steps run in order and stop at the first failure. Each executed step appends its status line
  to ``results_python.log`` and, with ``--tipc-record``, the command actually run.
"""

from __future__ import annotations

import hashlib
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from pytest_tipc.execution import devices, nodes, proctree
from pytest_tipc.execution.logs import append_status
from pytest_tipc.execution.once import OnceState, run_once
from pytest_tipc.execution.paths import HARNESS_OUTPUT, relocate, relocated_log_dir
from pytest_tipc.execution.ports import free_port
from pytest_tipc.execution.prepare import PrepareError, PrepareHook, prepare_data
from pytest_tipc.execution.runner import StepResult, run_step
from pytest_tipc.model.cells import Cell, Plan, Step, token
from pytest_tipc.model.config import harness_root
from pytest_tipc.model.record import append_records, step_record

__all__ = ["CellOutcome", "Engine", "EngineSettings", "PrepareError"]


@dataclass(frozen=True)
class EngineSettings:
    root: Path  # harness root when the plan does not say (see Engine.run_cell)
    state_dir: Path  # shared by all xdist workers of one run
    cache_dir: Path  # persistent between runs
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


@dataclass
class CellOutcome:
    ok: bool
    results: list[StepResult] = field(default_factory=list)
    failure: str | None = None  # the full report of the failed step (or of the failed dependency)
    skipped: str | None = None
    dependency: OnceState | None = None  # the train/model cell whose model an infer cell used
    devices: tuple[str, ...] = ()  # the GPUs leased for the cell's own steps
    reused: bool = False  # a train/model cell whose steps another item ran (results are that run's)

    @property
    def duration(self) -> float:
        return sum(r.duration for r in self.results)


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
            cell, self.gpus_for(cell), self.inventory)
        if reason:
            return reason
        parent = _parent(plan, cell)
        if parent is not None:
            inherited = self.skip_reason(plan, parent)
            if inherited:
                return f"its model comes from {parent.kind}[{parent.key}], which is skipped: {inherited}"
        return None

    # -- data ------------------------------------------------------------------------------

    def prepare(self, config_path: Path, mode: str, root: Path | None = None) -> None:
        """Prepare data for the config once (cached); raises :class:`PrepareError`."""
        root = root or harness_root(config_path, self.settings.root)
        memo = (os.path.abspath(config_path), mode)
        if memo in self._prepared:
            return
        s = self.settings
        prepare_data(config_path, mode, root, state_dir=s.state_dir, cache_dir=s.cache_dir,
                     log_dir=s.output_dir or root / HARNESS_OUTPUT, command=s.prepare_command,
                     hook=self.prepare_hook, timeout=s.stage_timeouts.get("prepare", s.timeout),
                     stream=s.stream, python=s.python)
        self._prepared.add(memo)

    # -- cells -----------------------------------------------------------------------------

    def run_cell(self, plan: Plan, cell: Cell, root: Path | None = None) -> CellOutcome:
        """Run the cell (see the module docstring). ``root`` is the harness root the plan was
        made for (default: the plan's ``root`` if it has one, else ``settings.root``)."""
        root = root or Path(getattr(plan, "root", None) or self.settings.root)
        reason = self.skip_reason(plan, cell)
        if reason:
            return CellOutcome(False, skipped=reason)
        if cell.kind in ("train", "model"):
            state = self._ensure(plan, cell, root)
            results = [StepResult.from_dict(r) for r in state.data.get("results", [])]
            return CellOutcome(state.ok, results, state.failure or None, state.skipped,
                               devices=tuple(state.data.get("devices", ())), reused=state.reused)
        dependency = None
        if cell.requires is not None:
            dependency = self._ensure_parent(plan, cell, root)
            if not dependency.ok:
                return CellOutcome(False, failure=dependency.failure, dependency=dependency)
        results, failure, leased = self._run_steps(plan, cell, root)
        return CellOutcome(failure is None, results, failure, dependency=dependency, devices=leased)

    def close(self) -> None:
        """Kill whatever step trees are still running (interrupts, internal errors)."""
        proctree.kill_all_running(grace=1.0)

    def log_dir(self, plan: Plan, root: Path) -> Path:
        """Where the plan's logs and ``results_python.log`` go."""
        if self.settings.output_dir is not None:
            return relocated_log_dir(plan, self.settings.output_dir)
        return root / plan.log_dir

    def _ensure(self, plan: Plan, cell: Cell, root: Path) -> OnceState:
        """A train/model cell's one run of the session, after the cells it needs (template
        pact/fpgm cells start from a norm_train checkpoint)."""
        if cell.requires is not None:
            dependency = self._ensure_parent(plan, cell, root)
            if not dependency.ok:
                return dependency
        steps = hashlib.sha256(repr((root, plan.log_dir, cell.steps)).encode()).hexdigest()[:16]
        key = f"{plan.model_name}-{plan.mode}-{cell.kind}-{cell.key}-{steps}"
        return run_once(self.settings.state_dir, key, lambda: self._produce(plan, cell, root),
                        worker=self.settings.worker_id)

    def _ensure_parent(self, plan: Plan, cell: Cell, root: Path) -> OnceState:
        """The state of the cell ``cell`` needs; when that failed, ``failure`` says so for ``cell``."""
        parent = _parent(plan, cell)
        if parent is None:
            return OnceState("", False, failure=f"{cell.kind}[{cell.key}] needs cell {cell.requires!r}, which the "
                                                "plan does not have (a planner bug)")
        state = self._ensure(plan, parent, root)
        if state.ok:
            return state
        role = "whose model this cell uses" if cell.kind == "infer" else "which this cell starts from"
        return replace(state, failure=state.dependency_failure(f"{parent.kind}[{parent.key}], {role},"))

    def _produce(self, plan: Plan, cell: Cell, root: Path) -> OnceState:
        results, failure, leased = self._run_steps(plan, cell, root)
        durations: dict[str, float] = {}
        for result in results:
            durations[result.kind] = durations.get(result.kind, 0.0) + result.duration
        data: dict[str, Any] = {"results": [r.to_dict() for r in results], "devices": list(leased)}
        if failure is None:
            return OnceState("", True, durations=durations, data=data)
        last = results[-1]
        return OnceState("", False, failed_step=last.kind, log_path=str(last.log_path), tail=last.tail(50),
                         failure=failure, durations=durations, data=data)

    def _run_steps(self, plan: Plan, cell: Cell, root: Path) -> tuple[list[StepResult], str | None, tuple[str, ...]]:
        log_dir = self.log_dir(plan, root)
        steps = list(cell.steps)
        if self.settings.output_dir is not None:
            steps = [relocate(step, plan.log_dir, str(log_dir), root) for step in steps]
        ids, _ = devices.card_ids(cell)
        results: list[StepResult] = []
        with self.pool.lease(self.gpus_for(cell)) as leased:
            mapping = devices.device_map(ids, leased) if leased else {}
            for index, step in enumerate(steps):
                if leased:
                    step = devices.apply_lease(step, mapping, leased)
                log_path = self._log_path(cell, step, index, root, log_dir)
                result = self._run_step(cell, step, log_path, root, leased)
                append_status(log_dir, step.status, result.ok)
                results.append(result)
                if not result.ok:
                    return results, result.failure_report(), leased
        return results, None, leased

    @staticmethod
    def _log_path(cell: Cell, step: Step, index: int, root: Path, log_dir: Path) -> Path:
        """The harness's log name; an infer log also names the cell whose model it used, because
        upstream names it by device/precision/batch only and each trainer overwrote the last one
        (docs/deviations.md) — under xdist they would even be written at the same time."""
        if not step.log:
            return log_dir / f"{token(cell.key)}_{index}_{step.kind}.log"
        path = root / step.log
        if cell.kind == "infer" and cell.requires:
            path = path.with_name(f"{path.stem}_{token(cell.requires)}{path.suffix}")
        return path

    def _run_step(self, cell: Cell, step: Step, log_path: Path, root: Path, leased: tuple[str, ...]) -> StepResult:
        s = self.settings
        # the user's limit for the stage, or the harness's own (Det's `timeout 5m`), whichever is smaller
        limits = [t for t in (s.stage_timeouts.get(step.kind, s.timeout), step.timeout) if t is not None]
        timeout = min(limits) if limits else None
        if s.stream is not None:
            s.stream.write(f"\n[tipc] {cell.kind}[{cell.key}] {step.kind}: {shlex.join(step.argv)}\n")
            s.stream.flush()
        if step.launch is not None and step.launch.nnodes >= 2:
            per_node = len(leased) // step.launch.nnodes
            node_devices = [leased[i * per_node:(i + 1) * per_node] for i in range(step.launch.nnodes)] \
                if leased else None
            result = nodes.run_nodes(step, root, port=free_port(s.worker_id), node_devices=node_devices,
                                     log_path=log_path, timeout=timeout, stream=s.stream, python=s.python,
                                     kill_grace=s.kill_grace)
            ran = list(result.nodes)
        else:
            result = run_step(step, root, log_path=log_path, timeout=timeout, stream=s.stream, python=s.python,
                              kill_grace=s.kill_grace)
            ran = [result]
        if s.record_path is not None:
            append_records(s.record_path, [step_record(step, argv=r.argv, cuda_visible_devices=r.cuda_visible_devices)
                                           for r in ran])
        return result


def _parent(plan: Plan, cell: Cell) -> Cell | None:
    if cell.requires is None:
        return None
    return next((c for c in plan.cells if c.key == cell.requires and c.kind != "infer"), None)


"""The pytest-tipc plugin: hooks in the order pytest calls them, and thin fixtures.

The work lives in one module per step of a cell's life: config → dialects (plan) → collect
(items) → cellrun/engine (execution) → verdicts → report.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_tipc.cellrun import CellRun
from pytest_tipc.collection.discover import settle
from pytest_tipc.collection.items import SETTINGS_KEY, TipcFile, TipcItem
from pytest_tipc.planning.dialects import register_dialect
from pytest_tipc.settings import Settings, add_options, read_settings

if TYPE_CHECKING:
    from pytest_tipc.execution.engine import Engine

FLEET_KEY = pytest.StashKey[Any]()  # the FleetSettings (pytest_tipc.fleet.options)

MARKERS = (
    "tipc(**fields): a TIPC cell; fields: dialect, model, mode, kind, key, gpus, nodes, autocast, trainer, "
    "device, mkldnn, threads, trt, precision, batch_size, quant, rehearsal. Select with -m \"tipc(precision='fp16')\".",
    "gpu: the cell needs a GPU to run (its own or its training's; multi-node training rehearses on CPU).",
    "multi_gpu: the cell needs two or more GPUs to run.",
    "multi_node: the cell launches training on two or more nodes.",
    "rehearsal: a GPU cell run on CPU (--tipc-rehearse cpu); it shows as rehearsed on CPU, not as supported on GPU.",
)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_tipc import hookspecs as newhooks

    pluginmanager.add_hookspecs(newhooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    from pytest_tipc.fleet import options as fleet_options

    add_options(parser)
    fleet_options.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    _register_dialects(config)
    settings = _collect_configs(config, settle(read_settings(config)))
    config.stash[SETTINGS_KEY] = settings
    if settings.configs:
        from pytest_tipc.reporting.summary import SummaryPlugin, WorkerOutput

        worker = hasattr(config, "workerinput")
        config.pluginmanager.register(WorkerOutput() if worker else SummaryPlugin(settings), "tipc-summary")
        if not worker:
            from pytest_tipc.reporting.allskipped import AllSkipped

            config.pluginmanager.register(AllSkipped(bool(settings.rehearse)), "tipc-all-skipped")
        if not worker and not settings.dry_run:
            from pytest_tipc.reporting.progress import ProgressDisplay

            config.pluginmanager.register(ProgressDisplay(config, settings.progress, settings.stream), "tipc-progress")
        if not settings.dry_run:  # one session per output dir; no step outlives its session
            from pytest_tipc.execution.processes import leftovers, session_lock

            session_lock.claim(config, settings)
            leftovers.register(config, settings.allow_daemons)
        _register_fleet(config, settings)


def _register_dialects(config: pytest.Config) -> None:
    """The families ``pytest_tipc_dialects`` hooks return join the registered ones (before the
    settings check ``--tipc-dialect`` against every name)."""
    for families in config.hook.pytest_tipc_dialects():
        for family in families:
            register_dialect(family)


def _register_fleet(config: pytest.Config, settings: Settings) -> None:
    """Sharding, the shard's manifest, stored durations, the comparison with a previous run."""
    from pytest_tipc.fleet import options as fleet_options
    from pytest_tipc.model.config import harness_root

    fleet = fleet_options.read(config, harness_root(settings.configs[0], settings.root or Path.cwd()))
    config.stash[FLEET_KEY] = fleet
    if fleet.shard is None and not fleet.store_durations and fleet.baseline is None:
        return
    from pytest_tipc.execution.processes.session_lock import output_directories
    from pytest_tipc.fleet.files import FOLDER
    from pytest_tipc.fleet.plugin import FleetPlugin

    folder = output_directories(settings)[0] / FOLDER
    config.pluginmanager.register(FleetPlugin(config, fleet, folder, settings.dry_run, settings.speed_tolerance),
                                  "tipc-fleet")


def _collect_configs(config: pytest.Config, settings: Settings) -> Settings:
    """Make pytest visit the configs: alone when the user named no paths or only configs (ids
    as printed), else beside the given paths (:func:`pytest_tipc.collection.discover.choose_paths`)."""
    if not settings.configs and config.args_source != pytest.Config.ArgsSource.ARGS:
        return settings
    from pytest_tipc.collection.discover import choose_paths

    return choose_paths(config, settings)


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash.get(SETTINGS_KEY, None)
    if not settings or not settings.configs:
        return []
    what = "dry run" if settings.dry_run else "real run"
    from pytest_tipc.execution.step.interpreter import header_line

    return [f"tipc: {len(settings.configs)} config(s), mode {settings.mode}, dialect {settings.dialect}, {what}",
            header_line(settings.configs, settings.python)]


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """In a TIPC-only session every folder is a :class:`~pytest_tipc.collection.discover.TipcDir`:
    it lists only the configs and never imports the repository's ``__init__.py``."""
    from pytest_tipc.collection.discover import FOLDERS_KEY, TipcDir

    if FOLDERS_KEY not in parent.config.stash:
        return None
    folder: TipcDir = TipcDir.from_parent(parent, path=path)
    return folder


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config) -> None:
    """Entries named like configs that are not regular files: one collection error each."""
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is not None and settings.rejected:
        from pytest_tipc.collection.discover import report_rejected

        report_rejected(session, settings.rejected)


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Generator[None, Sequence[pytest.Collector],
                                                                           Sequence[pytest.Collector]]:
    """A session's config is a :class:`TipcFile`, and only that (a config given as a path is not
    also a doctest text file)."""
    collected = yield
    settings = parent.config.stash.get(SETTINGS_KEY, None)
    if settings and settings.configs and os.path.normpath(os.path.abspath(file_path)) in settings.config_set:
        return [TipcFile.from_parent(parent, path=file_path)]
    return collected


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Every TIPC item that starts (also one a marker skips) carries its cell record."""
    if isinstance(item, TipcItem):
        item.attach_record()
    return (yield)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` with TIPC configs: one worker per GPU (xdist asks before pytest_configure, so
    this reads the options directly); ``None`` lets xdist count CPUs on a machine without GPUs."""
    if not (config.option.tipc_configs or config.getini("tipc_configs")):
        return None
    from pytest_tipc.execution.devices import auto_num_workers

    return auto_num_workers(config.option.tipc_gpus) or None


@pytest.fixture(scope="session")
def tipc_engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One engine per worker; its state dir is shared by all workers of the run (train once)."""
    from pytest_tipc.execution.engine import Engine, EngineSettings

    config = request.config
    settings = config.stash[SETTINGS_KEY]
    base = tmp_path_factory.getbasetemp()
    worker = getattr(config, "workerinput", {}).get("workerid", "master")
    shared = base.parent if worker != "master" else base
    cache = getattr(config, "cache", None)
    cache_dir = cache.mkdir("tipc") if cache is not None else None  # then prepare stamps go in the output dir
    engine = Engine(EngineSettings.derived(
        settings, state_dir=shared / "tipc-state", cache_dir=cache_dir, worker_id=worker,
        stream=_stream(config) if settings.stream else None, progress=_board(config, worker),
        reruns=config.stash[FLEET_KEY].reruns if FLEET_KEY in config.stash else 0,
    ), prepare_hook=_prepare_hook(config))
    try:
        yield engine
    finally:
        engine.close()


def _board(config: pytest.Config, worker: str) -> Any:
    from pytest_tipc.reporting.progress import StepBoard, progress_dir

    directory = progress_dir(config)
    return StepBoard(directory, worker) if directory is not None else None


def _prepare_hook(config: pytest.Config) -> Any:
    hook = config.hook.pytest_tipc_prepare
    return hook if hook.get_hookimpls() else None


def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    # Also called when collection errors stop the session: without a step started (the module that
    # starts them never imported) there is nothing to kill, and importing it (psutil) is not free.
    proctree = sys.modules.get("pytest_tipc.execution.processes.proctree")
    if proctree is not None:
        proctree.kill_all_running(grace=1.0)


def _stream(config: pytest.Config) -> Any:
    from pytest_tipc.execution.live import LiveStream

    return LiveStream(config)


@pytest.fixture
def tipc_cell_run(request: pytest.FixtureRequest) -> CellRun:
    """The item's cell, with what it needs to run; the engine is created on first real use."""
    item = request.node
    assert isinstance(item, TipcItem)
    return CellRun(item, request.config.stash[SETTINGS_KEY], lambda: request.getfixturevalue("tipc_engine"))

"""The pytest-tipc plugin: hooks in the order pytest calls them, and thin fixtures.

The work lives in one module per step of a cell's life: config → dialects (plan) → collect
(items) → cellrun/engine (execution) → verdicts → report.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_tipc.cellrun import CellRun
from pytest_tipc.collection.items import SETTINGS_KEY, TipcFile, TipcItem
from pytest_tipc.options import Settings, add_options, read_settings

if TYPE_CHECKING:
    from pytest_tipc.execution.engine import Engine

EXCLUSIVE_KEY = pytest.StashKey[bool]()
MARKERS = (
    "tipc(**fields): a TIPC cell; fields: dialect, model, mode, kind, key, gpus, nodes, autocast, trainer, "
    "device, mkldnn, threads, trt, precision, batch_size, quant. Select with -m \"tipc(precision='fp16')\".",
    "gpu: the cell needs at least one GPU.",
    "multi_gpu: the cell needs two or more GPUs.",
    "multi_node: the cell launches training on two or more nodes.",
)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_tipc import hookspecs as newhooks

    pluginmanager.add_hookspecs(newhooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    settings = read_settings(config)
    config.stash[SETTINGS_KEY] = settings
    if settings.configs:
        _collect_configs(config, settings)
    if settings.configs:
        from pytest_tipc.reporting.summary import SummaryPlugin, WorkerOutput

        worker = hasattr(config, "workerinput")
        config.pluginmanager.register(WorkerOutput() if worker else SummaryPlugin(settings), "tipc-summary")


def _collect_configs(config: pytest.Config, settings: Settings) -> None:
    """Make pytest visit the configs: alone when the user named no paths, else beside them.

    Alone, pytest is given each config's directory (it lists a directory once per argument in
    it, so one argument per file would list a 20-config directory 20 times) and
    :func:`pytest_ignore_collect` keeps it from collecting anything else there."""
    configs = [str(path) for path in settings.configs]
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args[:] = list(dict.fromkeys(os.path.dirname(path) for path in configs))
        config.stash[EXCLUSIVE_KEY] = True
        return
    given = [Path(config.invocation_params.dir, arg.split("::")[0]) for arg in config.args]
    for path in configs:
        if not any(_is_within(Path(path), base) for base in given):
            config.args.append(path)


def _is_within(path: Path, base: Path) -> bool:
    base_s, path_s = os.path.abspath(base), os.path.abspath(path)
    return path_s == base_s or path_s.startswith(base_s.rstrip(os.sep) + os.sep)


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash.get(SETTINGS_KEY, None)
    if not settings or not settings.configs:
        return []
    what = "dry run" if settings.dry_run else "real run"
    return [f"tipc: {len(settings.configs)} config(s), mode {settings.mode}, dialect {settings.dialect}, {what}"]


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """In a TIPC-only run, files beside the configs are not collected."""
    if config.stash.get(EXCLUSIVE_KEY, False) and not collection_path.is_dir():
        settings = config.stash[SETTINGS_KEY]
        return os.path.normpath(os.path.abspath(collection_path)) not in settings.config_set or None
    return None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> TipcFile | None:
    settings = parent.config.stash.get(SETTINGS_KEY, None)
    if settings and settings.configs and os.path.normpath(os.path.abspath(file_path)) in settings.config_set:
        tipc_file: TipcFile = TipcFile.from_parent(parent, path=file_path)
        return tipc_file
    return None


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
    cache_dir = cache.mkdir("tipc") if cache is not None else shared / "tipc-cache"
    engine = Engine(EngineSettings(
        root=config.invocation_params.dir,
        state_dir=shared / "tipc-state",
        cache_dir=Path(cache_dir),
        output_dir=settings.output,
        timeout=settings.timeout,
        stage_timeouts=settings.stage_timeouts,
        record_path=settings.record,
        stream=_stream(config) if settings.stream else None,
        python=settings.python,
        gpus=settings.gpus,
        worker_id=worker,
        local_nodes=settings.local_nodes,
        prepare_command=settings.prepare or None,
    ), prepare_hook=_prepare_hook(config))
    try:
        yield engine
    finally:
        engine.close()


def _prepare_hook(config: pytest.Config) -> Any:
    hook = config.hook.pytest_tipc_prepare
    return hook if hook.get_hookimpls() else None


def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    # Also called when collection errors stop the session: without a step started (the module that
    # starts them never imported) there is nothing to kill, and importing it (psutil) is not free.
    proctree = sys.modules.get("pytest_tipc.execution.proctree")
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

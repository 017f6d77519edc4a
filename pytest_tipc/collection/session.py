"""A session's config files before they become items: their outlines, made in one pass.

Collection needs each config's :class:`~pytest_tipc.planning.cache.Outline` (from pytest's cache, or by
planning). :class:`SessionConfigs` makes all of them when the first config file is collected, before
any item exists, and each file then takes its own: decoding or planning file by file would leave the
temporary objects of each file between the long-lived items of the others, and every full pass of
the garbage collector (pytest runs several per session) walks those items.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from pytest_tipc.collection.discover import read_config
from pytest_tipc.collection.markers import Marks
from pytest_tipc.layout import distinct_logs, shared_step_logs
from pytest_tipc.model.cells import Plan
from pytest_tipc.model.config import TipcConfig, harness_root, parse_file, parse_text
from pytest_tipc.planning import cache as plancache
from pytest_tipc.planning.cache import Outline
from pytest_tipc.planning.dialects import families, is_builtin
from pytest_tipc.planning.plan import detect_dialect, make_plan, repo_marker
from pytest_tipc.settings import Settings

SETTINGS_KEY = pytest.StashKey[Settings]()
STATE_KEY = pytest.StashKey["SessionConfigs"]()


class Prepared(NamedTuple):
    outline: Outline
    # The config's bytes, harness root and dialect, which its items plan from when they run
    # (keeping every step of every cell alive through collection costs more than planning twice) ...
    source: tuple[bytes, Path, str] | None
    # ... or, when the plan was not made from bytes we hold (a file that changed as it was read), the plan.
    plan: Plan | None


class SessionConfigs:
    """What a session's config files share: the outlines, the plan store and a few lookups."""

    def __init__(self, config: pytest.Config) -> None:
        self.settings = config.stash[SETTINGS_KEY]
        self.default_root = self.settings.root or config.invocation_params.dir
        cache = getattr(config, "cache", None)  # absent with -p no:cacheprovider
        self.store = plancache.PlanStore(cache) if cache is not None else None
        self.roots: dict[str, Path] = {}
        self.markers: dict[str, str] = {}  # repository markers by harness root, for detect_dialect
        # harness root names a registered family claims (detected as it, so never served from the cache)
        self.registered_roots = {name for known in families() if not is_builtin(known.name) for name in known.roots}
        detect = config.hook.pytest_tipc_detect_dialect
        self.detect_hook = detect if detect.get_hookimpls() else None  # conftests that detect a dialect
        self.fixtureinfo: dict[object, Any] = {}  # by folder: the config files' parent node
        self.marks = Marks()
        self._prepared: dict[str, Prepared | Exception] = {}
        for path in self.settings.configs:
            try:
                self._prepared[str(path)] = self.prepare(path)
            except Exception as exc:  # raised again when that file is collected
                self._prepared[str(path)] = exc
        plans = self._template_plans()
        # the logs two configs would both write get distinct names (layout.py), on every worker alike
        self.shared_logs = shared_step_logs(plans)
        # once a session: xdist's controller collects nothing and forwards every worker's warnings
        if plans and getattr(config, "workerinput", {}).get("workerid", "gw0") == "gw0":
            from pytest_tipc.collection.overlaps import warn_shared

            cwd = config.invocation_params.dir
            warn_shared(plans, shown=lambda path: os.path.relpath(path, cwd))

    def _template_plans(self) -> list[tuple[Path, Plan]]:
        """The plans of the session's template configs (which all write ``test_tipc/output/``) when
        there are two or more: the others write ``test_tipc/output/<model>/<mode>/``."""
        template = [(Path(path), prepared) for path, prepared in self._prepared.items()
                    if isinstance(prepared, Prepared) and prepared.outline.dialect == "template"]
        if len(template) < 2:
            return []
        plans: list[tuple[Path, Plan]] = []
        for path, prepared in template:
            try:
                plans.append((path, prepared.plan or self._plan(path, prepared)))
            except Exception:  # collecting the file reports it
                continue
        return plans

    def distinct(self, path: Path, plan: Plan) -> Plan:
        """``plan`` with the logs it shares with another config of the session renamed."""
        entry = self.shared_logs.get(path)
        return distinct_logs(plan, *entry) if entry else plan

    def _plan(self, path: Path, prepared: Prepared) -> Plan:
        assert prepared.source is not None
        data, root, dialect = prepared.source
        settings = self.settings
        return make_plan(parse_text(data.decode("utf-8"), path), dialect, root, settings.mode, suite=settings.suite,
                         bench=settings.bench, benchmark_root=settings.benchmark_root)

    @classmethod
    def of(cls, session: pytest.Session) -> SessionConfigs:
        state = session.stash.get(STATE_KEY, None)
        if state is None:
            state = session.stash[STATE_KEY] = cls(session.config)
        return state

    def take(self, path: Path) -> Prepared:
        """The file's outline (made in the first pass, else now); raises what preparing it raised."""
        prepared = self._prepared.pop(str(path), None)
        if prepared is None:
            return self.prepare(path)
        if isinstance(prepared, Exception):
            raise prepared
        return prepared

    def prepare(self, path: Path) -> Prepared:
        settings = self.settings
        root = self.root(path)
        chosen = f"auto:{self.marker(root)}" if settings.dialect == "auto" else settings.dialect
        if chosen.startswith("auto:") and (not is_builtin(chosen[5:] or "template")
                                           or os.path.basename(os.path.normpath(root)) in self.registered_roots):
            chosen = "registered"  # detected as a registered family (its marker or root): planned every time
        try:
            data: bytes | None = read_config(path)  # a regular file of at most 1 MB, else ConfigError
        except OSError:
            data = None  # parse_file reports it
        config: TipcConfig | None = None
        hooked: str | None = None  # what a pytest_tipc_detect_dialect hook chose
        if settings.dialect == "auto" and self.detect_hook is not None:
            config = _parse(path, data)
            hooked = self.detect_hook(config=config, root=root) if config is not None else None
            chosen = hooked or chosen
        entry = None
        # a registered planner's source is not part of the cache key: plan such configs every time
        if self.store is not None and data is not None and (chosen.startswith("auto:") or is_builtin(chosen)):
            entry = self.store.entry(data, path=path, root=root, mode=settings.plan_mode, dialect=chosen)
            outline = self.store.load(*entry) if entry else None
            if outline is not None:
                return Prepared(outline, (data, root, outline.dialect), None)
        if config is None:
            config = _parse(path, data)
        source = data if config is not None else None
        if config is None:  # unreadable or not UTF-8: parse_file raises the error to show
            config, entry = parse_file(path), None
        dialect = hooked or (detect_dialect(config, root, self.markers) if settings.dialect == "auto"
                             else settings.dialect)
        plan = make_plan(config, dialect, root, settings.mode, suite=settings.suite, bench=settings.bench,
                         benchmark_root=settings.benchmark_root, rehearse=settings.rehearse)
        outline = plancache.outline_of(plan)
        if self.store is not None and entry is not None:
            self.store.store(*entry, outline)
        if source is None:
            return Prepared(outline, None, plan)
        return Prepared(outline, (source, root, dialect), None)

    def root(self, path: Path) -> Path:
        """``harness_root`` (a function of the config's folder), once per folder."""
        folder = os.path.dirname(path)
        if path.name == "test_tipc":  # the only case where the file name matters
            return harness_root(path, self.default_root)
        root = self.roots.get(folder)
        if root is None:
            root = self.roots[folder] = harness_root(path, self.default_root)
        return root

    def marker(self, root: Path) -> str:
        marker = self.markers.get(str(root))
        if marker is None:
            marker = self.markers[str(root)] = repo_marker(root)
        return marker


def _parse(path: Path, data: bytes | None) -> TipcConfig | None:
    """``parse_file`` of bytes already read (so the plan and its cache key see the same bytes)."""
    if data is None:
        return None
    try:
        return parse_text(data.decode("utf-8"), path)
    except UnicodeDecodeError:
        return None

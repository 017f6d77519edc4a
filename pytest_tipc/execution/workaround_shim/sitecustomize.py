"""pytest-tipc's opt-in Paddle 3 workarounds (``--tipc-workaround``), loaded at a step's start-up.

The plugin puts this directory first on a Python step's ``PYTHONPATH`` and names the workarounds
in ``PYTEST_TIPC_WORKAROUNDS`` (comma-separated). Python imports this ``sitecustomize`` at start-up;
it runs the next ``sitecustomize`` on the path (the one the step would have run without us), and
adds an import hook that patches ``paddle.inference`` when the step imports it, so a step that
never uses Paddle Inference never imports paddle. Nothing in the repository is edited.

* ``memory-optim`` (Paddle#75496): ``Config.enable_memory_optim()`` is skipped for a ``.json``
  (PIR) program, where it breaks ``create_predictor``;
* ``onednn-pir`` (Paddle#77340): ``create_predictor`` first calls ``config.disable_mkldnn()`` for a
  ``.json`` program while oneDNN is on (Paddle 3 turns it on by default);
* ``pdmodel-json``: a ``.pdmodel`` path that does not exist, given to ``Config(...)``,
  ``set_model`` or ``set_prog_file``, becomes the ``.json`` beside it; ``os.path.exists`` and
  ``os.path.isfile`` say such a ``.pdmodel`` exists (2023 deploy code checks before loading).

Each workaround that changes something prints one line to stderr (the step's log), once:
``[pytest-tipc workaround] NAME: what it did (issue)``; the plugin reads these lines back.
This file needs nothing but the standard library: the step's interpreter may lack pytest-tipc.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

ENV = "PYTEST_TIPC_WORKAROUNDS"
PREFIX = "[pytest-tipc workaround]"
HERE = os.path.dirname(os.path.abspath(__file__))
ACTIVE = frozenset(name.strip() for name in os.environ.get(ENV, "").split(",") if name.strip())
_said: set[str] = set()
_deferred: set[int] = set()  # configs that asked for memory optim before they had a program


def say(name: str, text: str) -> None:
    line = f"{PREFIX} {name}: {text}"
    if line not in _said:
        _said.add(line)
        print(line, file=sys.stderr, flush=True)


def _json_beside(path: Any) -> str | None:
    """The ``.json`` program beside a ``.pdmodel`` path that does not exist, else ``None``."""
    if not isinstance(path, str) or not path.endswith(".pdmodel") or _exists(path):
        return None
    candidate = path[: -len(".pdmodel")] + ".json"
    return candidate if _exists(candidate) else None


def _program(path: Any) -> Any:
    """``path``, or the ``.json`` beside it (pdmodel-json)."""
    found = _json_beside(path)
    if found is not None:
        say("pdmodel-json", f"{path} does not exist; loading {found} instead (Paddle 3 exports PIR programs as .json)")
    return path if found is None else found


def _name(config: Any) -> str:
    try:
        return os.path.basename(str(config.prog_file()))
    except Exception:
        return ""


def _is_pir(config: Any) -> bool:
    return _name(config).endswith(".json")


_exists = os.path.exists
_isfile = os.path.isfile


def _patch_os_path() -> None:
    def beside(path: Any) -> str | None:  # str and PathLike paths only (never a file descriptor)
        return _json_beside(os.fspath(path) if isinstance(path, os.PathLike) else path)

    def exists(path: Any) -> bool:
        if _exists(path):
            return True
        found = beside(path)
        if found is not None:
            say("pdmodel-json", f"reported {os.fspath(path)} as present: {found} is beside it (Paddle 3 exports .json)")
        return found is not None

    def isfile(path: Any) -> bool:
        if _isfile(path):
            return True
        found = beside(path)
        return found is not None and _isfile(found) and exists(path)

    os.path.exists = exists
    os.path.isfile = isfile


def patch(module: ModuleType) -> None:
    """Patch ``paddle.inference`` (``Config`` is Paddle's pybind class, patched in place)."""
    config_cls = getattr(module, "Config", None)
    create = getattr(module, "create_predictor", None)
    if config_cls is None or create is None or getattr(module, "_tipc_workarounds", False):
        return
    module.__dict__["_tipc_workarounds"] = True
    if "pdmodel-json" in ACTIVE:
        init, set_model, set_prog_file = config_cls.__init__, config_cls.set_model, config_cls.set_prog_file

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            init(self, *(_program(args[0]), *args[1:]) if args else args, **kwargs)

        def set_model_(self: Any, *args: Any, **kwargs: Any) -> None:
            set_model(self, *(_program(args[0]), *args[1:]) if args else args, **kwargs)

        def set_prog_file_(self: Any, path: Any) -> None:
            set_prog_file(self, _program(path))

        config_cls.__init__, config_cls.set_model, config_cls.set_prog_file = __init__, set_model_, set_prog_file_
        _patch_os_path()
    if "memory-optim" in ACTIVE:
        enable_memory_optim = config_cls.enable_memory_optim

        def enable_memory_optim_(self: Any, x: bool = True) -> None:
            if x and _is_pir(self):
                say("memory-optim", f"skipped enable_memory_optim for {_name(self)} (Paddle#75496)")
                return
            if x and not str(self.prog_file()):
                _deferred.add(id(self))
            enable_memory_optim(self, x)

        config_cls.enable_memory_optim = enable_memory_optim_
    else:
        enable_memory_optim = None

    def create_predictor(config: Any, *args: Any, **kwargs: Any) -> Any:
        if enable_memory_optim is not None and id(config) in _deferred and _is_pir(config):
            enable_memory_optim(config, False)
            say("memory-optim", f"turned enable_memory_optim off for {_name(config)} (Paddle#75496)")
        if "onednn-pir" in ACTIVE and _is_pir(config) and config.mkldnn_enabled():
            config.disable_mkldnn()
            say("onednn-pir", f"called disable_mkldnn() for {_name(config)} before create_predictor (Paddle#77340)")
        return create(config, *args, **kwargs)

    module.__dict__["create_predictor"] = create_predictor


class _Loader(importlib.abc.Loader):
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        created: ModuleType | None = self.inner.create_module(spec)
        return created

    def exec_module(self, module: ModuleType) -> None:
        self.inner.exec_module(module)
        patch(module)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds ``paddle.inference`` with the other finders and patches it once it has run."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "paddle.inference":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader)
                return spec
        return None


def _chain() -> None:
    """Run the ``sitecustomize`` this one hides (the next one on ``sys.path``)."""
    path = [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


if ACTIVE:
    if "paddle.inference" in sys.modules:
        patch(sys.modules["paddle.inference"])
    else:
        sys.meta_path.insert(0, _Finder())
_chain()

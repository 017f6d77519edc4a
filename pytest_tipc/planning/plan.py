"""Planning's main step: a config file's dialect, then its plan, checked once.

:func:`make_plan` is what collection calls for every config: the rows are validated once
(:func:`validate`, the family's row rules of :mod:`pytest_tipc.planning.rows`), the suite's
planner plans (:mod:`pytest_tipc.planning.suites`), GPU cells are rehearsed on CPU on request
(:mod:`pytest_tipc.planning.rehearse`), and :func:`check_plan` keeps the plugin's own log files
inside the harness root and its output dir. The planners themselves do not validate rows: plan a
config through :func:`make_plan` to see the same errors a session shows.

``--tipc-dialect auto`` (:func:`detect_dialect`): which upstream harness family a config belongs to.
The rule, first match wins:

1. a 32-line Step6 layout (``trainer`` at position 13) is ``s32``; a harness root named in a
   family's ``roots`` is that family (``…/PaddleOCR_DBNet``, PaddleOCR's DBNet benchmark, is ``dbnet``);
2. a repository marker (a family's ``markers``) in the harness root or one of its three parents:
   ``ppocr/`` → ocr, ``ppcls/`` → clas, ``paddleseg/`` → seg, ``ppdet/`` → det, then the registered
   families' markers;
3. the key at position 29 of a 51-line config (the export-weights key, which every family spells
   its own way): ``weights`` → det, ``-o …`` → clas, ``--model_path``/``--save_dir`` → seg,
   ``….checkpoints`` or ``Global.…`` → ocr;
4. a ~20-line PTQ config: a ``filename`` row → det, ``Global.`` keys → ocr, a ``--data_dir`` row
   → s32, ``--model_path`` or ``--config`` → seg, ``ptq_python`` → s32;
5. a paddle2onnx config: a ``filename`` row → det, a ``--det_model_dir`` row → ocr, ``Global.``
   keys → clas, a ``model.pdmodel`` program → seg, else s32;
6. otherwise ``template`` (the models docs template harness).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from pytest_tipc.layout import _core
from pytest_tipc.model.cells import Plan
from pytest_tipc.model.config import EMPTY, ONNX, PTQ20, S32, ConfigError, Line, TipcConfig
from pytest_tipc.planning.dialects import families, family
from pytest_tipc.planning.rehearse import rehearse as rehearsal
from pytest_tipc.planning.rows import check_rows
from pytest_tipc.planning.suites import plan_suite


def make_plan(config: TipcConfig, dialect: str, root: Path, mode: str, *, suite: str = "auto",
              bench: str = "", benchmark_root: str = "", rehearse: str = "") -> Plan:
    """The plan of ``config`` under its suite (:mod:`pytest_tipc.planning.suites`), its GPU cells
    rehearsed on CPU with ``rehearse="cpu"`` (:mod:`pytest_tipc.planning.rehearse`)."""
    validate(config, dialect)
    plan = plan_suite(config, dialect, root, mode, suite=suite, bench=bench, benchmark_root=benchmark_root or None)
    plan = rehearsal(plan, rehearse)
    check_plan(plan, config, root)  # the plugin's own files stay inside the root and output dir
    return dataclasses.replace(plan, dialect=dialect, root=str(root))


def validate(config: TipcConfig, dialect: str) -> None:
    """Catch a shifted positional config before it turns into nonsense commands: raise
    :class:`~pytest_tipc.model.config.ConfigError` for the first row whose key does not fit the
    family's rules (the harness reads rows by position, so one missing row shifts every later key
    and upstream then runs ``python False``, Paddle#37572), naming the file, the line, the expected
    and found keys, and which row is missing or extra."""
    check_rows(config, family(dialect))


# ---- dialect detection ----

def detect_dialect(config: TipcConfig, root: Path, markers: dict[str, str] | None = None) -> str:
    """The rule is in the module docstring. ``markers`` caches :func:`repo_marker` by root for one session (the corpus has hundreds of
    configs under a handful of roots)."""
    if config.layout == S32:
        return "s32"
    name = os.path.basename(os.path.normpath(root))
    for known in families():
        if name in known.roots:
            return known.name
    if markers is None:
        marked = repo_marker(root)
    elif str(root) in markers:
        marked = markers[str(root)]
    else:
        marked = markers[str(root)] = repo_marker(root)
    if marked:
        return marked
    if config.layout == EMPTY:
        return "template"
    if config.layout == PTQ20:
        return _ptq_dialect(config)
    if config.layout == ONNX:
        return _onnx_dialect(config)
    key = config.key(29).strip()
    if key == "weights":
        return "det"
    if key.startswith("-o "):
        return "clas"
    if key in ("--model_path", "--save_dir"):
        return "seg"
    if key.endswith("checkpoints") or key.startswith("Global."):
        return "ocr"
    return "template"


def repo_marker(root: Path) -> str:
    """The dialect of the first repository marker in ``root`` or one of its three parents, else ""."""
    markers = [(marker, known.name) for known in families() for marker in known.markers]
    for folder in [root, *list(root.parents)[:3]]:
        for marker, dialect in markers:
            if os.path.isdir(os.path.join(folder, marker)):
                return dialect
    return ""


def _ptq_dialect(config: TipcConfig) -> str:
    keys = [line.key.strip() for line in config.lines]
    text = config.raw_text
    if "filename" in keys:
        return "det"
    if any(key.startswith("Global.") for key in keys):
        return "ocr"
    if "--data_dir" in keys:  # Step6's ptq_params (Seg's PTQ rows have --config, never --data_dir)
        return "s32"
    if "--model_path" in keys or "--config" in text:
        return "seg"
    if "ptq_python" in text:
        return "s32"
    return "template"


def _onnx_dialect(config: TipcConfig) -> str:
    keys = [line.key.strip() for line in config.lines]
    if "filename" in keys:
        return "det"
    if "--det_model_dir" in keys:
        return "ocr"
    if any(key.startswith("Global.") for key in keys):
        return "clas"
    if any(line.value.strip() == "model.pdmodel" for line in config.lines):
        return "seg"
    return "s32"


# ---- the plugin's own files stay inside the harness root and its output dir ----

def _climbs(path: str, base: str) -> bool:
    """``path`` (lexically) leaves ``base``: ``..`` climbs above it."""
    rel = os.path.relpath(os.path.normpath(os.path.join("/r", path)), os.path.normpath(os.path.join("/r", base)))
    return rel == ".." or rel.startswith("../")


def check_plan(plan: Plan, config: TipcConfig, root: Path) -> None:
    """A :class:`~pytest_tipc.model.config.ConfigError` naming ``file:line`` and the value when a
    path the plugin would write for ``plan`` (a step log, ``results_python.log``) climbs out of the
    harness root or out of its log dir (which ``--tipc-output`` moves) with ``..``. Symlinks are
    judged when the log is opened (:func:`pytest_tipc.layout.escape`): they are the file system's, not the config's."""
    def from_root(value: str) -> str:
        """An absolute path (PaddleClas builds its log dir from ``$(pwd)``) as seen from the root."""
        if not os.path.isabs(value):
            return value
        return os.path.relpath(os.path.normpath(value), os.path.normpath(root))

    log_dir = from_root(_core(plan.log_dir))
    problems = []
    if plan.log_dir and _climbs(log_dir, "."):
        problems.append(plan.log_dir)
    for cell in plan.cells:
        for step in cell.steps:
            if not step.log:
                continue
            log = from_root(_core(step.log))
            under_log_dir = log == log_dir or log.startswith(log_dir.rstrip("/") + "/")
            if _climbs(log, ".") or (under_log_dir and _climbs(log, log_dir)):
                problems.append(step.log)
    if not problems:
        return
    path = problems[0]
    line = _line_naming(config, path)
    raise ConfigError(
        config.path, line.lineno if line else 0,
        "values that keep the plugin's own log files inside the harness root and its output dir",
        f"{line.text!r}, which makes the plugin write {path!r}" if line else f"a value that makes the plugin write "
        f"{path!r}", "remove `..` and `/` from the value (it is part of a log file name)")


def _line_naming(config: TipcConfig, path: str) -> Line | None:
    """The config line whose value put ``..`` into ``path`` (the longest such value)."""
    best = None
    for line in config.lines:
        value = line.text.partition(":")[2]
        if value and (".." in value or "/" in value) and value in path:
            if best is None or len(value) > len(best.text.partition(":")[2]):
                best = line
    return best

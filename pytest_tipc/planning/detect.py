"""``--tipc-dialect auto``: which upstream harness family a config belongs to.

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

import os
from pathlib import Path

from pytest_tipc.model.config import EMPTY, ONNX, PTQ20, S32, TipcConfig
from pytest_tipc.planning.dialects import families


def detect_dialect(config: TipcConfig, root: Path, markers: dict[str, str] | None = None) -> str:
    """``markers`` caches :func:`repo_marker` by root for one session (the corpus has hundreds of
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

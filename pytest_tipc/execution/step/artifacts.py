"""What a step reads and leaves on disk: run-time path choices and expected artifacts.

Fresh evidence only: an artifact counts when it was written after its step started (its mtime is
at least the start time minus :data:`MTIME_MARGIN`, for coarse filesystem clocks). What an
earlier session left is never moved nor deleted: the verdict ignores it, and a stale file is
named in the failure with its age. When the file is missing where the config says, the step's
output tree is searched for a fresh file of that name (:func:`find_elsewhere`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from pytest_tipc.model.cells import Expect, PathChoice


def choose_paths(argv: tuple[str, ...], choices: tuple[PathChoice, ...], cwd: Path) -> tuple[str, ...]:
    """Use each choice's ``preferred`` path instead of its ``fallback`` inside argv when the
    preferred path exists (relative to the step's cwd)."""
    for choice in choices:
        if choice.fallback and (cwd / choice.preferred).exists():
            argv = tuple(word.replace(choice.fallback, choice.preferred) for word in argv)
    return argv


def describe(expect: Expect) -> str:
    if expect.kind == "inference_model":
        return f"inference model {expect.path} (<name>.pdiparams with <name>.json or <name>.pdmodel)"
    extra = [s for s in expect.suffixes if s]
    if not extra:
        return f"file {expect.path}"
    alternatives = "|".join(expect.suffixes)
    return f"file {expect.path}{{{alternatives}}}"


MTIME_MARGIN = 1.0  # seconds: NFS and some filesystems keep coarse mtimes
SEARCH_LIMIT = 20000  # directory entries find_elsewhere looks at, at most


def _fresh(path: Path, since: float | None) -> bool:
    try:
        return path.is_file() and (since is None or path.stat().st_mtime >= since - MTIME_MARGIN)
    except OSError:
        return False


def _model_files(folder: Path, stem: str | None) -> list[Path]:
    """The files of each complete inference model in ``folder`` (``.pdiparams`` + graph)."""
    if not folder.is_dir():
        return []
    stems = [stem] if stem else [p.name[: -len(".pdiparams")] for p in folder.glob("*.pdiparams")]
    found = []
    for s in stems:
        graph = next((folder / f"{s}{ext}" for ext in (".json", ".pdmodel") if (folder / f"{s}{ext}").is_file()), None)
        if graph is not None and (folder / f"{s}.pdiparams").is_file():
            found.append([graph, folder / f"{s}.pdiparams"])
    return [f for pair in found for f in pair]


def candidates(expect: Expect, cwd: Path) -> list[Path]:
    """The existing files that would satisfy ``expect``, fresh or not."""
    path = cwd / expect.path
    if expect.kind == "inference_model":
        return _model_files(path, None) or _model_files(path.parent, path.name)
    return [Path(f"{path}{suffix}") for suffix in expect.suffixes if Path(f"{path}{suffix}").is_file()]


def present(expect: Expect, cwd: Path, since: float | None = None) -> bool:
    """``file``: ``path`` plus one of ``suffixes`` is a file. ``inference_model``: ``path`` is a
    directory holding some ``<stem>.pdiparams`` with ``<stem>.json`` or ``<stem>.pdmodel``, or
    ``path`` is ``<dir>/<stem>`` naming that model. With ``since`` (a wall-clock start time) the
    files must also be fresh (for a model: the files of one complete model)."""
    files = candidates(expect, cwd)
    if expect.kind == "inference_model":
        pairs = [files[i:i + 2] for i in range(0, len(files), 2)]
        return any(all(_fresh(f, since) for f in pair) for pair in pairs)
    return any(_fresh(f, since) for f in files)


def age_text(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _stale_note(expect: Expect, cwd: Path, since: float) -> str:
    files = [f for f in candidates(expect, cwd) if not _fresh(f, since)]
    if not files:
        return ""
    oldest = min(files, key=lambda f: f.stat().st_mtime)
    age = since - oldest.stat().st_mtime
    return (f"; only a stale {oldest} is there, written {age_text(age)} before the step started "
            "(an earlier run's; it is ignored, not removed)")


def find_elsewhere(expect: Expect, cwd: Path, since: float | None, levels: int = 3) -> Path | None:
    """A fresh file named like the expected ``file`` artifact, searched in the subtrees of the
    expected path's nearest existing ancestors (up to ``levels`` up, never above ``cwd``)."""
    if expect.kind != "file":
        return None
    target = cwd / expect.path
    names = {Path(f"{target}{suffix}").name for suffix in expect.suffixes}
    base = target.parent
    root = cwd.resolve()
    for _ in range(levels):
        if base.resolve() == root or root not in base.resolve().parents:
            break
        base = base.parent
    seen = 0
    for folder, dirs, files in os.walk(base):
        dirs.sort()
        seen += len(dirs) + len(files)
        for name in sorted(names & set(files)):
            path = Path(folder, name)
            if _fresh(path, since):
                return path
        if seen > SEARCH_LIMIT:
            break
    return None


def missing(expects: tuple[Expect, ...], cwd: Path, since: float | None = None) -> tuple[str, ...]:
    """What is lacking, described; with ``since``, stale files count as lacking and are named."""
    out = []
    for expect in expects:
        if present(expect, cwd, since):
            continue
        note = _stale_note(expect, cwd, since) if since is not None else ""
        out.append(f"a fresh {describe(expect)}{note}" if note else describe(expect))
    return tuple(out)


def now() -> float:
    """Wall-clock time as file mtimes use it."""
    return time.time()

"""What a step reads and leaves on disk: run-time path choices and expected artifacts."""

from __future__ import annotations

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


def _has_inference_model(folder: Path, stem: str | None) -> bool:
    if not folder.is_dir():
        return False
    stems = [stem] if stem else [p.name[: -len(".pdiparams")] for p in folder.glob("*.pdiparams")]
    return any((folder / f"{s}.pdiparams").is_file()
               and ((folder / f"{s}.json").is_file() or (folder / f"{s}.pdmodel").is_file()) for s in stems)


def present(expect: Expect, cwd: Path) -> bool:
    """``file``: ``path`` plus one of ``suffixes`` is a file. ``inference_model``: ``path`` is a
    directory holding some ``<stem>.pdiparams`` with ``<stem>.json`` or ``<stem>.pdmodel``, or
    ``path`` is ``<dir>/<stem>`` naming that model."""
    path = cwd / expect.path
    if expect.kind == "inference_model":
        return _has_inference_model(path, None) or _has_inference_model(path.parent, path.name)
    return any(Path(f"{path}{suffix}").is_file() for suffix in expect.suffixes)


def missing(expects: tuple[Expect, ...], cwd: Path) -> tuple[str, ...]:
    return tuple(describe(e) for e in expects if not present(e, cwd))

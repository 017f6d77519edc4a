"""Where a plan's outputs go: the harness layout, or ``--tipc-output DIR``.

The harness writes everything under its ``LOG_PATH`` (``./test_tipc/output/<model>/<mode>``).
``--tipc-output DIR`` moves that to ``DIR/<model>/<mode>`` by rewriting the log dir prefix
wherever a step names it: argv words, log, status text, expected artifacts, path choices and
environment values.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path, PurePosixPath

from pytest_tipc.model.cells import Expect, PathChoice, Plan, Step

HARNESS_OUTPUT = "test_tipc/output"


def _core(log_dir: str) -> str:
    text = log_dir.rstrip("/")
    return text[2:] if text.startswith("./") else text


def log_dir_pattern(old_log_dir: str, root: Path | None = None) -> re.Pattern[str]:
    """``old_log_dir`` as a path prefix: with or without ``./``, or absolute under ``root``; not
    inside a longer path (``../test_tipc/…`` from another cwd is left alone)."""
    core = _core(old_log_dir)
    variants = {core, f"./{core}"} if not core.startswith("/") else {core}
    if root is not None and not core.startswith("/"):
        variants.add(str(root / core))
    alternation = "|".join(re.escape(v) for v in sorted(variants, key=len, reverse=True))
    return re.compile(rf"(?<![\w.\-/])(?:{alternation})")


def relocate(step: Step, old_log_dir: str, new_log_dir: str, root: Path | None = None) -> Step:
    """``step`` with every mention of ``old_log_dir`` (as a prefix) replaced by ``new_log_dir``."""
    pattern = log_dir_pattern(old_log_dir, root)
    new = new_log_dir.rstrip("/")

    def sub(text: str) -> str:
        return pattern.sub(lambda _: new, text)

    return dataclasses.replace(
        step,
        argv=tuple(sub(word) for word in step.argv),
        env=tuple((k, sub(v) if v is not None else None) for k, v in step.env),
        log=sub(step.log),
        status=sub(step.status),
        choices=tuple(PathChoice(sub(c.preferred), sub(c.fallback)) for c in step.choices),
        expects=tuple(Expect(e.kind, sub(e.path), e.suffixes) for e in step.expects),
    )


def relocated_log_dir(plan: Plan, output_dir: Path) -> Path:
    """What follows ``test_tipc/output`` in the plan's log dir, under ``DIR`` (``DIR/<model>/<mode>``;
    ``DIR`` itself for the docs template, whose log dir is ``./test_tipc/output``)."""
    parts = PurePosixPath(_core(plan.log_dir)).parts
    marker = PurePosixPath(HARNESS_OUTPUT).parts
    for index in range(len(parts) - len(marker) + 1):
        if parts[index:index + len(marker)] == marker:
            return output_dir.joinpath(*parts[index + len(marker):])
    return output_dir / plan.model_name / plan.mode

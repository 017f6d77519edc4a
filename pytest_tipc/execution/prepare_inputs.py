"""What a data preparation depends on, so that it runs again when, and only when, that changes.

A ``prepare.sh`` reads its config the bash way (``dataline=$(cat ${FILENAME})``, ``lines=(${dataline})``,
``func_parser_value "${lines[1]}"``; empty lines are dropped by the word splitting, so ``lines[N]`` is
the config's row N+1) or greps it for a key (``grep "inference_model_url" $FILENAME``). Its rows,
then, are: ``model_name`` (row 2, which every upstream prepare.sh reads), every row whose index
appears as ``lines[N]`` in the script, and every row whose key the script names. The digest is
made of those rows, the mode, the command and the text of the script files it names, and not of
the whole config text: editing a training parameter no prepare.sh reads (a batch size, a device
row) does not download and install everything again.

Every file and log of an earlier run (the names it created in the harness root, and below the
folders that were there already, such as ``test_tipc/data/mini_supervisely``) is recorded too
(:func:`snapshot`): a ``prepare.sh`` that is not idempotent (PaddleSeg's ``unzip`` asking to
overwrite, with stdin closed) fails the second time, and the failure names what to remove.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

_INDEX = re.compile(r"\blines\[(\d+)\]")
_SKIPPED_KEYS = frozenset({"null", "##", ""})
SNAPSHOT_DEPTH = 3  # how deep below the harness root new paths are looked for
SNAPSHOT_WIDTH = 2000  # at most this many entries of one folder are looked at
_NOT_SNAPSHOT = frozenset({".git", ".pytest_cache", "output", "__pycache__"})


def digest(*parts: bytes) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(len(part).to_bytes(8, "big") + part)
    return sha.hexdigest()


def relevant_rows(config_text: str, scripts: Iterable[str]) -> list[str]:
    """``<row>:<text>`` for each config row the scripts read (see the module docstring)."""
    rows = [line for line in config_text.replace("\r\n", "\n").split("\n") if line.strip()]
    texts = list(scripts)
    wanted = {1} | {int(m.group(1)) for text in texts for m in _INDEX.finditer(text)}
    for index, line in enumerate(rows):
        key = line.split(":", 1)[0].strip() if ":" in line else ""
        name = key.split()[-1].lstrip("-") if key else ""  # `-o Global.epochs` is grepped as `Global.epochs`
        if key not in _SKIPPED_KEYS and not key.startswith("=") and len(name) > 2 and any(name in t for t in texts):
            wanted.add(index)
    return [f"{index + 1}:{rows[index]}" for index in sorted(wanted) if index < len(rows)]


def snapshot(root: Path, depth: int = SNAPSHOT_DEPTH) -> set[str]:
    """Paths (relative, ``/``-separated) down to ``depth`` below ``root``, symlinks not followed."""
    found: set[str] = set()

    def walk(folder: Path, prefix: str, level: int) -> None:
        try:
            with os.scandir(folder) as entries:
                for count, entry in enumerate(entries):
                    if count >= SNAPSHOT_WIDTH:
                        return
                    name = f"{prefix}{entry.name}"
                    found.add(name)
                    if level < depth and entry.name not in _NOT_SNAPSHOT and entry.is_dir(follow_symlinks=False):
                        walk(Path(entry.path), name + "/", level + 1)
        except OSError:
            pass

    walk(root, "", 1)
    return found


def made(before: set[str], after: set[str]) -> list[str]:
    """The new paths whose folder is not new itself: what a run created, shortest form."""
    new = after - before
    return sorted(p for p in new if "/" not in p or p.rsplit("/", 1)[0] not in new)

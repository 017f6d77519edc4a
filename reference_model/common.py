"""Small helpers shared by the entry scripts: flag parsing, device choice, logging, seeding."""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path
from typing import TextIO

import numpy as np
import paddle


def str2bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    text = value.strip().lower()
    if text in ("true", "t", "1", "yes", "y", "gpu"):
        return True
    if text in ("false", "f", "0", "no", "n", "cpu", "none", "null", ""):
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean (True/False), got {value!r}")


def add_bool_flag(parser: argparse.ArgumentParser, *names: str, default: bool = False, help: str = "") -> None:
    """``--flag``, ``--flag=True`` and ``--flag=False`` all work (TIPC configs use both styles)."""
    parser.add_argument(*names, nargs="?", const=True, default=default, type=str2bool, help=help)


def cuda_available() -> bool:
    return bool(paddle.is_compiled_with_cuda()) and paddle.device.cuda.device_count() > 0


def choose_device(use_gpu: bool | None, device: str | None, log: Logger | None = None) -> str:
    """``--use-gpu`` wins over ``--device``; a GPU request on a CPU-only build falls back to CPU
    with a warning (as the upstream Step6 train.py does), so a rehearsal of a GPU cell on a CPU
    box still trains."""
    if use_gpu is not None:
        want = "gpu" if use_gpu else "cpu"
    else:
        want = device or ("gpu" if cuda_available() else "cpu")
    if want.startswith("gpu") and not cuda_available():
        msg = ("WARNING: a GPU was requested but this Paddle build has no usable CUDA device "
               f"(paddle {paddle.__version__}, compiled_with_cuda={paddle.is_compiled_with_cuda()}); using CPU")
        (log.print if log else print)(msg)
        want = "cpu"
    paddle.set_device(want)
    return "gpu" if want.startswith("gpu") else "cpu"


def world() -> tuple[int, int]:
    """(rank, world size) as set by ``paddle.distributed.launch`` (1 process otherwise)."""
    size = int(os.environ.get("PADDLE_TRAINERS_NUM", "1"))
    rank = int(os.environ.get("PADDLE_TRAINER_ID", "0"))
    return rank, size


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    paddle.seed(seed)


class Logger:
    """Print to stdout (flushed) and, when ``path`` is given, append to a log file too.

    Only rank 0 of a data-parallel job prints, like the upstream scripts."""

    def __init__(self, path: str | os.PathLike[str] | None = None, enabled: bool = True) -> None:
        self.enabled = enabled
        self.file: TextIO | None = None
        if path is not None and enabled:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.file = open(path, "w", encoding="utf-8")

    def print(self, *parts: object) -> None:
        if not self.enabled:
            return
        line = " ".join(str(p) for p in parts)
        print(line, flush=True)
        if self.file is not None:
            self.file.write(line + "\n")
            self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def fail(message: str, code: int = 2) -> None:
    """Exit with a one-line error that names the problem (no traceback)."""
    print(f"ERROR: {message}", file=sys.stderr, flush=True)
    raise SystemExit(code)

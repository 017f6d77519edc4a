"""What a running step shows while it runs: its output on the terminal as it comes, past pytest's
capture (``--tipc-stream``), and the :class:`Board` it is announced on for the progress line."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

import pytest


class LiveStream:
    """A write-only text stream to the real stdout. Each write briefly suspends pytest's global
    capture (as pytest's own live logging does), so the output shows without ``-s``. Under xdist
    the workers' stdout is not shown at all (an xdist limitation), so there the controller prints
    each running step's log as it grows instead (:mod:`pytest_tipc.reporting.progress`)."""

    def __init__(self, config: pytest.Config) -> None:
        self._capman: Any = config.pluginmanager.getplugin("capturemanager")
        self._out = sys.__stdout__

    def write(self, text: str) -> int:
        if self._out is None:
            return 0
        if self._capman is not None:
            with self._capman.global_and_fixture_disabled():
                self._out.write(text)
                self._out.flush()
        else:
            self._out.write(text)
            self._out.flush()
        return len(text)

    def flush(self) -> None:
        if self._out is not None:
            self._out.flush()


class Board(Protocol):
    """Where the engine announces the step it runs, for the live progress line: the session gives
    one (:class:`pytest_tipc.reporting.progress.StepBoard`, wired by the plugin), or none."""

    def step(self, item: str, step: str, log_path: Path) -> AbstractContextManager[None]: ...

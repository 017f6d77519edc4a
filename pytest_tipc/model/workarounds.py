"""The opt-in Paddle 3 workarounds a user can name (``--tipc-workaround NAME``, ini
``tipc_workarounds``): each one's name, the Paddle issue it works around and what it changes.
How they reach a step and which fired is :mod:`pytest_tipc.execution.workarounds`."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ALL = "paddle3"  # every workaround below


@dataclass(frozen=True)
class Workaround:
    name: str
    issue: str  # what the report says it works around
    what: str


WORKAROUNDS = {w.name: w for w in (
    Workaround("memory-optim", "Paddle#75496",
               "Config.enable_memory_optim() is skipped for .json (PIR) programs"),
    Workaround("onednn-pir", "Paddle#77340",
               "config.disable_mkldnn() before create_predictor for .json (PIR) programs"),
    Workaround("pdmodel-json", "Paddle 3 exports .json",
               "a .pdmodel path that does not exist resolves to the .json beside it"),
)}


def parse_name(text: str) -> tuple[str, ...]:
    """The workarounds one ``--tipc-workaround`` value names (``paddle3``: all of them)."""
    name = text.strip()
    if name == ALL:
        return tuple(WORKAROUNDS)
    if name not in WORKAROUNDS:
        known = "; ".join(f"{w.name} ({w.issue}: {w.what})" for w in WORKAROUNDS.values())
        raise argparse.ArgumentTypeError(f"unknown workaround {text!r}: choose {ALL} (all of them) or one of: {known}")
    return (name,)


def normalise(groups: Iterable[Sequence[str]]) -> tuple[str, ...]:
    """The names, each once, in the registry's order."""
    wanted = {name for group in groups for name in group}
    return tuple(name for name in WORKAROUNDS if name in wanted)

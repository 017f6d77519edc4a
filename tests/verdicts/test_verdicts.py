"""The verdict's parsers load when a cell needs them (numpy only for the stored-results modes),
and :func:`pytest_tipc.verdicts.check.preload` loads them in the background while the cell runs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def loaded_after(code: str) -> set[str]:
    """The ``pytest_tipc`` modules (and numpy) a fresh interpreter holds after ``code``."""
    script = textwrap.dedent("""\
        import sys, threading
        from pytest_tipc.model.cells import Cell, Plan
        from pytest_tipc.verdicts import check as verdicts
        def cell(kind): return Cell(kind, "k", (), ())
        def plan(mode): return Plan("template", mode, "m", "./out", ())
        def settle():
            for thread in threading.enumerate():
                if thread.name == "tipc-preload":
                    thread.join(30)
    """) + textwrap.dedent(code) + "\nprint(' '.join(sorted(m for m in sys.modules if m.startswith(('pytest_tipc.', 'numpy')))))\n"
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_importing_the_verdicts_loads_no_parser_and_no_numpy() -> None:
    loaded = loaded_after("")
    assert not {"pytest_tipc.verdicts.trainlog", "pytest_tipc.verdicts.autolog_parse", "pytest_tipc.verdicts.results.compare", "numpy"} & loaded


def test_preload_loads_what_the_cell_needs() -> None:
    train = loaded_after("verdicts.preload(cell('train'), plan('lite_train_lite_infer')); settle()")
    assert "pytest_tipc.verdicts.trainlog" in train and "pytest_tipc.verdicts.autolog_parse" not in train and "numpy" not in train
    infer = loaded_after("verdicts.preload(cell('infer'), plan('lite_train_lite_infer')); settle()")
    assert "pytest_tipc.verdicts.autolog_parse" in infer and "pytest_tipc.verdicts.results.compare" not in infer and "numpy" not in infer
    whole = loaded_after("verdicts.preload(cell('infer'), plan('whole_infer')); settle()")
    assert {"pytest_tipc.verdicts.autolog_parse", "pytest_tipc.verdicts.results.compare", "numpy"} <= whole

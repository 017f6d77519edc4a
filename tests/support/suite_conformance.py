"""In-process command parity against ../shared/conformance/suites (paddle2onnx, PTQ and
benchmark_train records of the upstream scripts).

Usable from tests (``suite_rows``/``check_suite_row``) and from the shell while developing:

    python -m tests.support.suite_conformance [--suite ptq] [--dialect ocr] [-v]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from pytest_tipc.model.config import ConfigError, parse_file
from pytest_tipc.model.record import step_record
from pytest_tipc.planning.plan import make_plan
from pytest_tipc.planning.suites import BENCHMARK, SUITE_MODES
from tests.support.conformance import ROOT_TOKEN, conformance_dir, difference

# benchmark_train.sh names its logs after the basename of the harness root, so the root of the
# planned sandbox is named after the repository label, as in the recording sandbox.
FAKE_BASE = "/tmp/tipc-suite-parity"


def suites_dir() -> Path | None:
    base = conformance_dir()
    if base is not None and (base / "suites" / "INDEX.tsv").is_file():
        return base / "suites"
    return None


@dataclasses.dataclass(frozen=True)
class SuiteRow:
    suite: str
    repo: str
    dialect: str
    config: str
    mode: str  # the INDEX mode: the harness mode, or benchmark_train's explicit argument
    notes: str

    @property
    def prefix(self) -> str:
        """The harness root inside the repository ('' for the top level)."""
        parts = self.config.split("/")
        return "/".join(parts[: parts.index("test_tipc")])

    @property
    def rel_config(self) -> str:
        return self.config[len(self.prefix) + 1:] if self.prefix else self.config

    @property
    def tipc_mode(self) -> str:
        return SUITE_MODES[self.suite][0]

    @property
    def bench(self) -> str:
        return self.mode if self.suite == BENCHMARK and self.mode != BENCHMARK else ""

    @property
    def golden_name(self) -> str:
        return f"{self.repo}/{self.config[:-len('.txt')]}.{self.suite}.{self.mode}.jsonl"

    @property
    def ident(self) -> str:
        return f"{self.suite}:{self.dialect}:{self.config}:{self.mode}"


def suite_rows(base: Path) -> list[SuiteRow]:
    with open(base / "INDEX.tsv", newline="") as fh:
        return [SuiteRow(r["suite"], r["repo"], r["dialect"], r["config"], r["mode"], r["notes"])
                for r in csv.DictReader(fh, delimiter="\t")]


def golden(base: Path, row: SuiteRow) -> list[dict[str, Any]]:
    path = base / "golden" / row.golden_name
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def planned(base: Path, row: SuiteRow) -> list[dict[str, Any]]:
    repo_root = f"{FAKE_BASE}/{row.repo}"
    root = f"{repo_root}/{row.prefix}" if row.prefix else repo_root
    config = parse_file(base / "configs" / row.repo / row.config)
    config = dataclasses.replace(config, path=Path(root) / row.rel_config)
    plan = make_plan(config, row.dialect, Path(root), row.tipc_mode, suite=row.suite, bench=row.bench)
    records = []
    for step in plan.steps():
        rec = step_record(step)
        rec["argv"] = [arg.replace(root, ROOT_TOKEN) for arg in rec["argv"]]
        records.append(rec)
    return records


def check_suite_row(base: Path, row: SuiteRow) -> str | None:
    """None when the multisets match; otherwise a one-line description of the difference."""
    try:
        got = planned(base, row)
    except ConfigError as exc:
        return f"config error: {exc}"
    return difference(golden(base, row), got)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--suite")
    parser.add_argument("--dialect")
    parser.add_argument("--mode")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("-v", action="store_true")
    args = parser.parse_args(argv)
    base = suites_dir()
    if base is None:
        print("no suites corpus found (set TIPC_CONFORMANCE)", file=sys.stderr)
        return 2
    rows = [r for r in suite_rows(base)
            if (not args.suite or r.suite == args.suite) and (not args.dialect or r.dialect == args.dialect)
            and (not args.mode or r.mode == args.mode)]
    if args.limit:
        rows = rows[: args.limit]
    tally: dict[tuple[str, str], list[int]] = {}
    bad = 0
    for row in rows:
        try:
            problem = check_suite_row(base, row)
        except Exception as exc:  # report planner crashes per row
            problem = f"crash: {type(exc).__name__}: {exc}"
        counts = tally.setdefault((row.suite, row.dialect), [0, 0])
        counts[1] += 1
        if problem:
            bad += 1
            if args.v or bad <= 20:
                print(f"MISMATCH {row.ident} {problem}")
        else:
            counts[0] += 1
    for (suite, dialect), (ok, total) in sorted(tally.items()):
        print(f"{suite:16} {dialect:6} {ok}/{total}")
    print(f"parity: {len(rows) - bad}/{len(rows)} configs-modes match")
    return 0 if bad == 0 and rows else 1


if __name__ == "__main__":
    sys.exit(main())

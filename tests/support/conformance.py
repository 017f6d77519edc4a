"""In-process command parity against ../shared/conformance (the upstream harnesses' records).

Usable from tests (``parity_rows``/``check_row``) and from the shell while developing a dialect:

    python -m tests.support.conformance --dialect ocr [--mode whole_infer] [-v] [--limit N]
"""

from __future__ import annotations

import argparse
import collections
import csv
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from pytest_tipc.model.config import ConfigError, parse_file
from pytest_tipc.model.record import step_record
from pytest_tipc.planning.plan import make_plan

REPO = Path(__file__).resolve().parents[2]
ROOT_TOKEN = "<ROOT>"
FAKE_ROOT = "/tmp/tipc-parity-root"


def conformance_dir() -> Path | None:
    env = os.environ.get("TIPC_CONFORMANCE")
    for candidate in ([Path(env)] if env else []) + [REPO.parent / "shared" / "conformance"]:
        if (candidate / "INDEX.tsv").is_file():
            return candidate
    return None


@dataclasses.dataclass(frozen=True)
class Row:
    repo: str
    dialect: str
    config: str
    mode: str
    notes: str

    @property
    def prefix(self) -> str:
        parts = self.config.split("/")
        return "/".join(parts[: parts.index("test_tipc")]) if "test_tipc" in parts else ""

    @property
    def rel_config(self) -> str:
        return self.config[len(self.prefix) + 1:] if self.prefix else self.config

    @property
    def golden_name(self) -> str:
        return f"{self.repo}/{self.config[:-len('.txt')]}.{self.mode}.jsonl"


def parity_rows(base: Path) -> list[Row]:
    with open(base / "INDEX.tsv", newline="") as fh:
        return [Row(r["repo"], r["dialect"], r["config"], r["mode"], r["notes"])
                for r in csv.DictReader(fh, delimiter="\t")]


def _key(rec: dict[str, Any]) -> str:
    return json.dumps([rec["argv"], rec["cwd"], rec["cuda_visible_devices"]])


def golden(base: Path, row: Row) -> list[dict[str, Any]]:
    path = base / "golden" / row.golden_name
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def planned(base: Path, row: Row, root: str = FAKE_ROOT) -> list[dict[str, Any]]:
    config = parse_file(base / "configs" / row.repo / row.config)
    config = dataclasses.replace(config, path=Path(root) / row.rel_config)
    plan = make_plan(config, row.dialect, Path(root), row.mode)  # rows validated as a session does
    records = []
    for step in plan.steps():
        rec = step_record(step)
        rec["argv"] = [arg.replace(root, ROOT_TOKEN) for arg in rec["argv"]]
        records.append(rec)
    return records


def check_row(base: Path, row: Row) -> str | None:
    """None when the multisets match; otherwise a one-line description of the difference."""
    try:
        got = planned(base, row)
    except ConfigError as exc:
        return f"config error: {exc}"
    return difference(golden(base, row), got)


def difference(want: list[dict[str, Any]], got: list[dict[str, Any]]) -> str | None:
    """None when the two record lists match as multisets (argv, cwd, CUDA_VISIBLE_DEVICES), else
    a one-line description of the first record missing and the first extra."""
    want_c = collections.Counter(_key(r) for r in want)
    got_c = collections.Counter(_key(r) for r in got)
    if want_c == got_c:
        return None
    missing = list((want_c - got_c).elements())
    extra = list((got_c - want_c).elements())
    return (f"want {len(want)} got {len(got)}; first missing: {missing[0] if missing else '-'}; "
            f"first extra: {extra[0] if extra else '-'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dialect")
    parser.add_argument("--mode")
    parser.add_argument("--repo")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("-v", action="store_true")
    args = parser.parse_args(argv)
    base = conformance_dir()
    if base is None:
        print("no conformance corpus found (set TIPC_CONFORMANCE)", file=sys.stderr)
        return 2
    rows = [r for r in parity_rows(base)
            if (not args.dialect or r.dialect == args.dialect) and (not args.mode or r.mode == args.mode)
            and (not args.repo or r.repo == args.repo)]
    if args.limit:
        rows = rows[: args.limit]
    bad = 0
    for row in rows:
        try:
            problem = check_row(base, row)
        except Exception as exc:  # report planner crashes per row
            problem = f"crash: {type(exc).__name__}: {exc}"
        if problem:
            bad += 1
            if args.v or bad <= 20:
                print(f"MISMATCH {row.config} [{row.mode}] {problem}")
    print(f"parity: {len(rows) - bad}/{len(rows)} configs-modes match")
    return 0 if bad == 0 and rows else 1


if __name__ == "__main__":
    sys.exit(main())

"""Collection speed: the whole conformance corpus vs. as many trivial parametrized tests.

Both are collected by ``pytest --collect-only -q`` in a fresh process, side by side, several
rounds; the best time of each is compared. Target: ratio <= 1.5.

    python benchmarks/collect.py [--rounds 3] [--corpus ../shared/conformance/configs]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET = 1.5


def collect(args: list[str], cwd: Path) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "-p", "no:randomly", *args], cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    match = re.search(r"(\d+) tests? collected", proc.stdout)
    if match is None:
        raise SystemExit(f"could not read the collected count:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed, int(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "conformance" / "configs")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        print(f"no corpus at {args.corpus}; pass --corpus", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "pytest.ini").write_text("[pytest]\n")
        tipc_time, items = collect(["--tipc-config", str(args.corpus)], work)
        (work / "test_trivial.py").write_text(
            "import pytest\n\n\n"
            f"@pytest.mark.parametrize('case', range({items}))\n"
            "def test_case(case):\n    assert case >= 0\n")
        tipc_times, plain_times = [tipc_time], []
        for _ in range(args.rounds):
            plain_times.append(collect(["test_trivial.py"], work)[0])
            tipc_times.append(collect(["--tipc-config", str(args.corpus)], work)[0])
    configs = sum(1 for _ in args.corpus.rglob("*train*infer*python*.txt"))
    tipc, plain = min(tipc_times), min(plain_times)
    ratio = tipc / plain
    print(f"configs: {configs}, items: {items}, rounds: {args.rounds} (best of each), cpus: {os.cpu_count()}")
    print(f"tipc collection:    {tipc:.3f} s")
    print(f"trivial collection: {plain:.3f} s  ({items} parametrized tests)")
    print(f"ratio: {ratio:.2f} (target <= {TARGET}) {'OK' if ratio <= TARGET else 'OVER TARGET'}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())

"""Collection speed: the whole conformance corpus vs. as many trivial parametrized tests.

Both are collected by ``pytest --collect-only -q`` in a fresh process, side by side, several
rounds, as users run pytest: with bytecode caching and pytest's cache (``.pytest_cache``, where
the plugin keeps plan outlines) in a scratch rootdir, written by a warm-up run of each side. The
best time of each is compared. Target: ratio <= 1.5. A cold run of the corpus (``--cache-clear``:
every config planned at collection) is shown for reference.

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


# Measured as users run pytest: with bytecode caching (a warm-up run of each side writes the caches).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def collect(args: list[str], cwd: Path) -> tuple[float, int]:
    # -c: both sides use the scratch ini, so the rootdir (and .pytest_cache) is the scratch directory
    # rather than the corpus, whatever the arguments are
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-c", str(cwd / "pytest.ini"),
                           "-p", "no:randomly", *args], cwd=cwd, capture_output=True, text=True, env=ENV)
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
    corpus = ["--tipc-config", str(args.corpus)]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "pytest.ini").write_text("[pytest]\n")
        _, items = collect(corpus, work)  # warm-up; counts the items
        (work / "test_trivial.py").write_text(
            "import pytest\n\n\n"
            f"@pytest.mark.parametrize('case', range({items}))\n"
            "def test_case(case):\n    assert case >= 0\n")
        collect(["test_trivial.py"], work)  # warm-up
        cold = min(collect([*corpus, "--cache-clear"], work)[0] for _ in range(args.rounds))
        collect(corpus, work)  # warm again after the last --cache-clear
        tipc_times, plain_times = [], []
        for _ in range(args.rounds):
            plain_times.append(collect(["test_trivial.py"], work)[0])
            tipc_times.append(collect(corpus, work)[0])
    configs = sum(1 for _ in args.corpus.rglob("*train*infer*python*.txt"))
    tipc, plain = min(tipc_times), min(plain_times)
    ratio = tipc / plain
    print(f"configs: {configs}, items: {items}, rounds: {args.rounds} (best of each), cpus: {os.cpu_count()}")
    print(f"tipc collection:    {tipc:.3f} s  (cold, every config planned: {cold:.3f} s, {cold / plain:.2f}x)")
    print(f"trivial collection: {plain:.3f} s  ({items} parametrized tests)")
    print(f"ratio: {ratio:.2f} (target <= {TARGET}) {'OK' if ratio <= TARGET else 'OVER TARGET'}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())

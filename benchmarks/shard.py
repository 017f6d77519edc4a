"""Shard planning speed and balance.

1. Planning time for 30,000 items (1,000 configs × 3 trainings × 9 inference cells, plus stand-alone
   cells) with stored durations for half of them, against the time to sort the same node ids (the
   floor of any deterministic plan). Target: under 1 s.
2. Balance on the conformance corpus (every config × mode, dry-run plans) for N = 2..8, with
   durations drawn around each kind's default: the largest shard's estimate against the lower bound
   max(total / N, largest group), and the largest / smallest shard.

    python benchmarks/shard.py [--items 30000] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pytest_tipc.fleet.shard import DEFAULT_SECONDS, Member, assign  # noqa: E402


def synthetic(count: int) -> list[Member]:
    members: list[Member] = []
    config = 0
    while len(members) < count:
        prefix = f"test_tipc/configs/m{config:05d}/train_infer_python.txt"
        for trainer in ("norm_train", "amp_train", "pact_train"):
            head = f"{prefix}::cpu-null-{trainer}"
            members.append(Member(f"{prefix}::train[cpu-null-{trainer}]", head, "train"))
            members += [Member(f"{prefix}::infer[cpu-null-{trainer}-cpu-t{t}-fp32-bs{b}]", head, "infer")
                        for t in (1, 2, 6) for b in (1, 2, 4)][:9]
        config += 1
    return members[:count]


def corpus() -> list[Member]:
    sys.path.insert(0, str(REPO))
    from tests.fleet.test_shard import corpus_members

    return corpus_members()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=30000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    members = synthetic(args.items)
    durations = {m.nodeid: DEFAULT_SECONDS[m.kind] * rng.uniform(0.3, 3.0) for m in members if rng.random() < 0.5}
    floor = min(_timed(lambda: sorted(m.nodeid for m in members)) for _ in range(3))
    best = min(_timed(lambda: assign(members, 8, durations)) for _ in range(3))
    print(f"planning {len(members):,} items on 8 shards: {best:.3f} s (sorting their ids: {floor:.3f} s, "
          f"{best / floor:.1f}x); target < 1 s: {'met' if best < 1 else 'MISSED'}")
    try:
        cells = corpus()
    except BaseException as exc:  # pytest.skip without the corpus
        print(f"balance: no conformance corpus ({exc})")
        return 0
    draw = {m.nodeid: DEFAULT_SECONDS.get(m.kind, 10.0) * rng.uniform(0.3, 3.0) for m in cells}
    groups: dict[str, float] = {}
    for m in cells:
        groups[m.group] = groups.get(m.group, 0.0) + draw[m.nodeid]
    print(f"balance on the conformance corpus: {len(cells):,} cells in {len(groups):,} groups, "
          f"{sum(groups.values()) / 3600:.1f} h of drawn durations")
    print(" N  largest/bound  largest/smallest")
    for count in range(2, 9):
        shards = assign(cells, count, draw).shards
        loads = [s.seconds for s in shards]
        bound = max(sum(groups.values()) / count, max(groups.values()))
        print(f"{count:2d}  {max(loads) / bound:13.4f}  {max(loads) / min(loads):16.4f}")
    return 0


def _timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main())

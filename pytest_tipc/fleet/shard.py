"""``--tipc-shard K/N``: which items this machine runs.

The unit is a *group*: a train (or whole_infer ``model``) cell with every cell that uses its model,
so a training never runs on two shards; any other item is a group of its own. Groups are placed
longest first on the least-loaded shard (ties: the lower shard, then the group's name), from
durations stored by ``--tipc-store-durations``; an item without one gets the median of its kind.
The same items and durations give the same assignment on every machine, in any collection order.
"""

from __future__ import annotations

import heapq
import os
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

# What an item of a kind costs when no duration of that kind is stored (seconds): a training with
# its eval and export, or a conversion, outweighs one inference.
DEFAULT_SECONDS = {"train": 120.0, "model": 60.0, "bench": 120.0, "infer": 10.0, "onnx": 10.0, "ptq": 10.0}
FALLBACK_SECONDS = 10.0

# The schedulers `auto` reads: (index variable, count variable, first index, help)
SCHEDULERS = (
    ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "a Slurm array (sbatch --array=1-N)"),
    ("CI_NODE_INDEX", "CI_NODE_TOTAL", None, "GitLab's parallel: N"),
    ("BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT", None, "Buildkite's parallelism"),
    ("JOB_COMPLETION_INDEX", None, None, "a Kubernetes Indexed Job (give N: --tipc-shard auto/N)"),
)


class ShardError(ValueError):
    """A malformed ``--tipc-shard`` value; the message names the fix."""


@dataclass(frozen=True)
class ShardSpec:
    index: int  # K, from 1
    count: int  # N
    source: str = ""  # where K and N came from, for the header ("" = the command line)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


_SPEC = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def parse_spec(text: str, environ: Mapping[str, str] | None = None) -> ShardSpec:
    """``K/N`` (1 ≤ K ≤ N), or ``auto`` / ``auto/N`` from the scheduler's variables."""
    raw = text.strip()
    if raw == "auto" or raw.startswith("auto/"):
        given = raw.partition("/")[2]
        if given and not given.isdigit():
            raise ShardError(f"expected auto/N with N a whole number, got {text!r} (e.g. auto/4)")
        return _from_scheduler(os.environ if environ is None else environ, int(given) if given else None)
    match = _SPEC.fullmatch(raw)
    if not match:
        raise ShardError(f"expected K/N (this machine's shard K of N, from 1), or auto; got {text!r} (e.g. 2/4)")
    index, count = int(match[1]), int(match[2])
    return _checked(index, count, "")


def _checked(index: int, count: int, source: str) -> ShardSpec:
    if count < 1:
        raise ShardError(f"the shard count N must be at least 1, got {count}{_where(source)}")
    if not 1 <= index <= count:
        raise ShardError(f"shard K must lie in 1..{count}, got {index}{_where(source)}: shards count from 1, "
                         f"so the last of {count} is {count}/{count}")
    return ShardSpec(index, count, source)


def _where(source: str) -> str:
    return f" (from {source})" if source else ""


def _from_scheduler(env: Mapping[str, str], count: int | None) -> ShardSpec:
    for index_var, count_var, min_var, what in SCHEDULERS:
        if index_var not in env:
            continue
        raw_index = env[index_var].strip()
        raw_count = env.get(count_var, "").strip() if count_var else ""
        if not raw_index.isdigit() or (raw_count and not raw_count.isdigit()):
            raise ShardError(f"--tipc-shard auto: {index_var}={env[index_var]!r}"
                             f"{f', {count_var}={raw_count!r}' if count_var else ''} is not a whole number ({what})")
        index = int(raw_index)
        if index_var == "SLURM_ARRAY_TASK_ID":  # --array=1-N or 0-(N-1): count from the array's first task
            index = index - int(env.get(min_var or "", "1") or "1") + 1
        elif index_var != "CI_NODE_INDEX":  # Buildkite and Kubernetes count from 0, GitLab from 1
            index += 1
        total = count if count is not None else (int(raw_count) if raw_count else None)
        if total is None:
            raise ShardError(f"--tipc-shard auto: {index_var} is set but not the shard count; "
                             f"pass it as --tipc-shard auto/N ({what})")
        return _checked(index, total, f"{index_var}" + (f"/{count_var}" if raw_count and count is None else ""))
    names = ", ".join(v for row in SCHEDULERS for v in row[:2] if v)
    raise ShardError(f"--tipc-shard auto: none of {names} is set; give the shard as K/N "
                     "(a GitHub Actions matrix passes it: --tipc-shard ${{ matrix.shard }}/N)")


@dataclass(frozen=True)
class Member:
    """An item as sharding sees it."""

    nodeid: str
    group: str  # the group's name: the config and the train/model cell its model comes from
    kind: str  # train, infer, model, onnx, ptq, bench, or "" for a non-TIPC item


def heads(needs: Mapping[str, str]) -> dict[str, str]:
    """``{key: the key at the end of its chain of needs}`` (``needs``: key → the key it needs, "" for
    none): a PACT training that starts from the norm training's checkpoint, and their inference
    cells, all head to the norm training. A need outside ``needs`` (or a loop) ends the chain."""
    out: dict[str, str] = {}
    for key in needs:
        seen = [key]
        while needs.get(seen[-1]) and needs[seen[-1]] not in seen:
            seen.append(needs[seen[-1]])
        out[key] = seen[-1]
    return out


@dataclass
class Shard:
    index: int
    seconds: float = 0.0
    groups: list[str] = field(default_factory=list)
    nodeids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Assignment:
    shards: tuple[Shard, ...]
    group_of: dict[str, str]  # nodeid → group
    shard_of: dict[str, int]  # nodeid → shard index (from 1)

    def of(self, index: int) -> Shard:
        return self.shards[index - 1]


def estimates(members: Sequence[Member], durations: Mapping[str, float]) -> dict[str, float]:
    """Each item's expected seconds: its stored duration, else the median of its kind's stored
    durations, else :data:`DEFAULT_SECONDS`."""
    by_kind: dict[str, list[float]] = {}
    for m in members:
        seconds = durations.get(m.nodeid)
        if seconds is not None:
            by_kind.setdefault(m.kind, []).append(seconds)
    medians = {kind: statistics.median(values) for kind, values in by_kind.items()}
    return {m.nodeid: durations.get(m.nodeid, medians.get(m.kind, DEFAULT_SECONDS.get(m.kind, FALLBACK_SECONDS)))
            for m in members}


def assign(members: Iterable[Member], count: int, durations: Mapping[str, float] | None = None) -> Assignment:
    """Place the groups of ``members`` on ``count`` shards (longest processing time first)."""
    ordered = sorted(members, key=lambda m: m.nodeid)
    cost = estimates(ordered, durations or {})
    groups: dict[str, list[str]] = {}
    for m in ordered:
        groups.setdefault(m.group, []).append(m.nodeid)
    weight = {name: sum(cost[n] for n in ids) for name, ids in groups.items()}
    shards = tuple(Shard(i + 1) for i in range(count))
    heap = [(0.0, i) for i in range(count)]
    shard_of: dict[str, int] = {}
    for name in sorted(groups, key=lambda g: (-weight[g], g)):
        seconds, i = heapq.heappop(heap)
        shard = shards[i]
        shard.seconds = seconds + weight[name]
        shard.groups.append(name)
        shard.nodeids.extend(groups[name])
        for nodeid in groups[name]:
            shard_of[nodeid] = i + 1
        heapq.heappush(heap, (shard.seconds, i))
    for shard in shards:
        shard.nodeids.sort()
    return Assignment(shards, {m.nodeid: m.group for m in ordered}, shard_of)


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def header(spec: ShardSpec, assignment: Assignment) -> str:
    """``tipc shard 2/4: 37 items in 9 groups, ~41 min estimated (shards 39–42 min)``."""
    mine = assignment.of(spec.index)
    loads = [s.seconds for s in assignment.shards]
    spread = f"{minutes(min(loads))}–{minutes(max(loads))}" if len(loads) > 1 else minutes(loads[0])
    source = f" from {spec.source}" if spec.source else ""
    line = (f"tipc shard {spec}{source}: {len(mine.nodeids)} items in {len(mine.groups)} groups, "
            f"~{minutes(mine.seconds)} estimated (shards {spread})")
    if not mine.nodeids:
        line += (f"; nothing to run here: {sum(len(s.nodeids) for s in assignment.shards)} items in "
                 f"{sum(len(s.groups) for s in assignment.shards)} groups fill fewer than {spec.count} shards")
    return line

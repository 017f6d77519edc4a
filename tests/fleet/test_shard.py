"""Shard planning: the spec, the groups, balance and determinism (in process, no session)."""

from __future__ import annotations

import random
import statistics

import pytest

from pytest_tipc.fleet.shard import (
    DEFAULT_SECONDS,
    Member,
    ShardError,
    assign,
    estimates,
    header,
    heads,
    parse_spec,
)
from tests.support.conformance import conformance_dir, parity_rows


class TestSpec:
    def test_k_of_n(self) -> None:
        spec = parse_spec("2/4")
        assert (spec.index, spec.count, str(spec)) == (2, 4, "2/4")

    @pytest.mark.parametrize("text, says", [
        ("0/4", "shards count from 1"), ("5/4", "must lie in 1..4"), ("2-4", "expected K/N"), ("a/b", "expected K/N"),
        ("1/0", "at least 1"), ("auto/x", "auto/N"),
    ])
    def test_bad_values_name_the_fix(self, text: str, says: str) -> None:
        with pytest.raises(ShardError, match=says.replace(".", r"\.")):
            parse_spec(text)

    @pytest.mark.parametrize("env, want", [
        ({"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1"}, (3, 4)),
        ({"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_ARRAY_TASK_MIN": "0"}, (1, 2)),
        ({"CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "5"}, (2, 5)),
        ({"BUILDKITE_PARALLEL_JOB": "0", "BUILDKITE_PARALLEL_JOB_COUNT": "3"}, (1, 3)),
    ])
    def test_auto_reads_the_scheduler(self, env: dict[str, str], want: tuple[int, int]) -> None:
        spec = parse_spec("auto", env)
        assert (spec.index, spec.count) == want and spec.source

    def test_kubernetes_needs_the_count(self) -> None:
        with pytest.raises(ShardError, match="auto/N"):
            parse_spec("auto", {"JOB_COMPLETION_INDEX": "1"})
        spec = parse_spec("auto/3", {"JOB_COMPLETION_INDEX": "1"})
        assert (spec.index, spec.count) == (2, 3)

    def test_auto_without_a_scheduler_says_what_to_pass(self) -> None:
        with pytest.raises(ShardError, match="give the shard as K/N"):
            parse_spec("auto", {})


def corpus_members() -> list[Member]:
    """Every cell of the conformance corpus (each config × mode) as sharding sees it."""
    base = conformance_dir()
    if base is None:
        pytest.skip("no ../shared/conformance beside the checkout")
    import dataclasses
    from pathlib import Path

    from pytest_tipc.model.config import ConfigError, parse_file
    from pytest_tipc.planning.dialects import planner
    from tests.support.conformance import FAKE_ROOT

    members: list[Member] = []
    for row in parity_rows(base):
        try:
            config = parse_file(base / "configs" / row.repo / row.config)
            config = dataclasses.replace(config, path=Path(FAKE_ROOT) / row.rel_config)
            plan = planner(row.dialect)(config, row.mode, Path(FAKE_ROOT))
        except ConfigError:
            continue
        prefix = f"{row.repo}/{row.config}[{row.mode}]"
        head = heads({cell.key: cell.requires or "" for cell in plan.cells})
        seen: dict[str, int] = {}
        for cell in plan.cells:
            name = f"{cell.kind}[{cell.key}]"
            seen[name] = seen.get(name, 0) + 1
            name = name if seen[name] == 1 else f"{name}-{seen[name]}"
            members.append(Member(f"{prefix}::{name}", f"{prefix}::{head[cell.key]}", cell.kind))
    return members


@pytest.fixture(scope="module")
def corpus() -> list[Member]:
    return corpus_members()


def kind_durations(members: list[Member], seed: int) -> dict[str, float]:
    """Durations drawn around each kind's default (a train cell minutes, an inference seconds)."""
    rng = random.Random(seed)
    return {m.nodeid: DEFAULT_SECONDS.get(m.kind, 10.0) * rng.uniform(0.3, 3.0) for m in members}


class TestAssignment:
    @pytest.mark.parametrize("count", [2, 3, 4, 7])
    def test_shards_partition_the_items_and_keep_groups_whole(self, corpus: list[Member], count: int) -> None:
        assignment = assign(corpus, count)
        ids = [n for s in assignment.shards for n in s.nodeids]
        assert len(ids) == len(set(ids)) == len({m.nodeid for m in corpus})  # disjoint, and the union is all
        shard_of_group: dict[str, set[int]] = {}
        for m in corpus:
            shard_of_group.setdefault(m.group, set()).add(assignment.shard_of[m.nodeid])
        assert all(len(shards) == 1 for shards in shard_of_group.values())
        # every inference cell is in the group of the train or model cell whose model it uses
        trained = {m.group for m in corpus if m.kind in ("train", "model")}
        assert trained and {m.group for m in corpus if m.kind in ("infer", "onnx", "ptq")} <= trained

    @pytest.mark.parametrize("count", [2, 3, 4, 7])
    def test_the_same_in_any_collection_order(self, corpus: list[Member], count: int) -> None:
        durations = kind_durations(corpus, 7)
        first = assign(corpus, count, durations)
        shuffled = list(reversed(corpus))
        random.Random(1).shuffle(shuffled)
        again = assign(shuffled, count, durations)
        assert first.shard_of == again.shard_of

    @pytest.mark.parametrize("count", [2, 3, 4, 7])
    def test_balanced_by_duration_within_ten_percent(self, corpus: list[Member], count: int) -> None:
        durations = kind_durations(corpus, count)
        assignment = assign(corpus, count, durations)
        groups: dict[str, float] = {}
        for m in corpus:
            groups[m.group] = groups.get(m.group, 0.0) + durations[m.nodeid]
        bound = max(sum(groups.values()) / count, max(groups.values()))
        assert max(s.seconds for s in assignment.shards) <= 1.10 * bound

    def test_unknown_items_get_the_median_of_their_kind(self) -> None:
        members = [Member("a::train[x]", "a::train[x]", "train"), Member("a::train[y]", "a::train[y]", "train"),
                   Member("a::train[z]", "a::train[z]", "train"), Member("a::infer[q]", "a::train[x]", "infer")]
        cost = estimates(members, {"a::train[x]": 10.0, "a::train[y]": 30.0})
        assert cost["a::train[z]"] == statistics.median([10.0, 30.0])
        assert cost["a::infer[q]"] == DEFAULT_SECONDS["infer"]

    def test_a_training_that_starts_from_another_heads_to_it(self) -> None:
        assert heads({"norm": "", "pact": "norm", "i1": "pact", "i2": "norm", "x": "ghost", "a": "b", "b": "a"}) == \
            {"norm": "norm", "pact": "norm", "i1": "norm", "i2": "norm", "x": "ghost", "a": "b", "b": "a"}

    def test_an_empty_shard_says_why(self) -> None:
        members = [Member("a::train[x]", "a::train[x]", "train"), Member("a::infer[x-1]", "a::train[x]", "infer")]
        assignment = assign(members, 3)
        line = header(parse_spec("3/3"), assignment)
        assert "0 items in 0 groups" in line and "fill fewer than 3 shards" in line

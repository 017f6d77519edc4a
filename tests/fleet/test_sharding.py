"""``--tipc-shard`` in real pytest sessions: selection, groups, the header, empty shards, errors,
durations, and the manifests a merge reads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.tiny_repo import EIGHT, config, repo, run

__all__ = ["repo"]

# 3 groups of 10 items: per autocast, a norm_train cell, its 8 inference cells and the pact_train
# cell that starts from its checkpoint (so it must run on the same shard)
THREE = {**EIGHT, 6: "--autocast:null|amp|fp16", 15: "trainer:norm_train|pact_train"}


def selected(result: pytest.RunResult) -> list[str]:
    return sorted(line.split(" ", 1)[0] for line in result.outlines
                  if "::" in line and not line.startswith(("tipc", " ")) and "[" in line)


def collect(repo: pytest.Pytester, cfg: Path, *args: str) -> list[str]:
    result = run(repo, cfg, "--collect-only", "-q", *args)
    assert result.ret in (0, 5), result.stdout.str()
    return selected(result)


class TestSelection:
    @pytest.mark.parametrize("count", [2, 3, 4])
    def test_shards_partition_the_session_and_keep_each_training_with_its_inference(
            self, repo: pytest.Pytester, count: int) -> None:
        cfg = config(repo, THREE)
        everything = collect(repo, cfg)
        assert len(everything) == 30
        shards = [collect(repo, cfg, "--tipc-shard", f"{k}/{count}") for k in range(1, count + 1)]
        union = [n for s in shards for n in s]
        assert sorted(union) == everything and len(set(union)) == len(union)
        for shard in shards:
            trains = {n.split("train[", 1)[1].rstrip("]") for n in shard if "::train[" in n}
            assert {t.replace("pact_train", "norm_train") for t in trains} <= trains  # pact with its norm
            infers = {n.split("infer[", 1)[1].rsplit("-cpu-", 1)[0] for n in shard if "::infer[" in n}
            assert infers <= trains

    def test_k_and_m_apply_before_sharding(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, THREE)
        wanted = collect(repo, cfg, "-k", "amp or fp16")
        assert len(wanted) == 20
        parts = [collect(repo, cfg, "-k", "amp or fp16", "--tipc-shard", f"{k}/2") for k in (1, 2)]
        assert sorted(parts[0] + parts[1]) == wanted and parts[0] and parts[1]

    def test_the_same_under_xdist(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, THREE)
        serial = run(repo, cfg, "--tipc-dry-run", "--tipc-shard", "2/3", "-v")
        xdist = run(repo, cfg, "--tipc-dry-run", "--tipc-shard", "2/3", "-v", "-p", "xdist", "-n", "2",
                    subprocess=True)
        ran = [sorted(set(re.findall(r"(\S+::\S+\]) PASSED", r.stdout.str()) +
                          re.findall(r"PASSED (\S+::\S+\])", r.stdout.str()))) for r in (serial, xdist)]
        assert ran[0] and ran[0] == ran[1]

    def test_header_counts_items_groups_and_minutes(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, THREE)
        result = run(repo, cfg, "--tipc-dry-run", "--tipc-shard", "1/2")
        result.stdout.re_match_lines([r"tipc shard 1/2: 20 items in 2 groups, ~\S+ (min|s) estimated \(shards .*\)"])


class TestEdges:
    def test_an_empty_shard_exits_0_and_says_why(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, EIGHT)  # one training group
        result = run(repo, cfg, "--tipc-dry-run", "--tipc-shard", "3/3")
        assert result.ret == 0
        result.stdout.fnmatch_lines(["*tipc shard 3/3: 0 items in 0 groups*nothing to run here*fewer than 3 shards*"])

    @pytest.mark.parametrize("value, says", [("4/3", "must lie in 1..3"), ("two/3", "expected K/N")])
    def test_bad_values_are_usage_errors(self, repo: pytest.Pytester, value: str, says: str) -> None:
        cfg = config(repo, EIGHT)
        result = run(repo, cfg, "--tipc-dry-run", "--tipc-shard", value)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines([f"*--tipc-shard*{says}*"])

    def test_auto_reads_slurm(self, repo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
        cfg = config(repo, THREE)
        monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "2")
        monkeypatch.setenv("SLURM_ARRAY_TASK_COUNT", "3")
        monkeypatch.setenv("SLURM_ARRAY_TASK_MIN", "1")
        assert collect(repo, cfg, "--tipc-shard", "auto") == collect(repo, cfg, "--tipc-shard", "2/3")


class TestDurations:
    def test_stored_durations_balance_the_next_split(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, THREE)
        durations = repo.path / "test_tipc" / ".tipc_durations.json"
        result = run(repo, cfg, "--tipc-dry-run", "--tipc-store-durations")
        assert result.ret == 0
        stored = json.loads(durations.read_text())["durations"]
        assert len(stored) == 30 and all(v >= 0 for v in stored.values())
        # make the fp16 group heavy: it gets a shard of its own
        heavy = {k: (1000.0 if "-fp16-" in k else 1.0) for k in stored}
        durations.write_text(json.dumps({"durations": heavy}))
        alone = collect(repo, cfg, "--tipc-shard", "1/2")
        assert len(alone) == 10 and all("-fp16-" in n for n in alone)

    def test_a_broken_durations_file_is_named(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, THREE)
        (repo.path / "test_tipc" / ".tipc_durations.json").write_text("[1, 2")
        result = run(repo, cfg, "--tipc-dry-run", "--tipc-shard", "1/2")
        assert result.ret != 0
        assert ".tipc_durations.json" in result.stdout.str() + result.stderr.str()


class TestManifest:
    def test_each_shard_writes_its_manifest_plan_and_records(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, THREE)
        out = repo.path / "out1"
        result = run(repo, cfg, "--tipc-shard", "1/2", "--tipc-output", str(out))
        assert result.ret == 0, result.stdout.str()
        folder = out / "tipc-shard"
        manifest = json.loads((folder / "manifest.json").read_text())
        plan = json.loads((folder / "plan.json").read_text())
        records = [json.loads(line) for line in (folder / "records.jsonl").read_text().splitlines()]
        assert manifest["shard"] == "1/2" and manifest["state"] == "finished" and manifest["end"]
        assert manifest["host"] and manifest["exitstatus"] == 0 and "paddle" in manifest and "gpus" in manifest
        assert len(plan["items"]) == 30
        assert sorted(r["nodeid"] for r in records) == sorted(manifest["items"]) == \
            sorted(n for n, a in plan["items"].items() if a["shard"] == 1)
        assert all(r["outcome"] == "passed" for r in records)

    def test_an_earlier_run_is_moved_aside(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, THREE)
        out = repo.path / "out1"
        for _ in range(2):
            assert run(repo, cfg, "--tipc-dry-run", "--tipc-shard", "2/2", "--tipc-output", str(out)).ret == 0
        assert (out / "tipc-shard" / "manifest.json").is_file()
        assert (out / "tipc-shard.1" / "manifest.json").is_file()

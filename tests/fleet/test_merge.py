"""``python -m pytest_tipc merge``: shards into one JUnit file, one report and one summary; a
missing, crashed or doubled shard is never silent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import JUnitXml

from pytest_tipc.fleet.merge import EXIT_USAGE
from pytest_tipc.reporting.diff import EXIT_INCOMPLETE
from tests.support.tiny_repo import EIGHT, config, repo, run

__all__ = ["repo"]

THREE = {**EIGHT, 6: "--autocast:null|amp|fp16", 15: "trainer:norm_train|pact_train"}  # 3 groups of 10


def merge(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_tipc", "merge", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def shard(repo: pytest.Pytester, cfg: Path, k: int, n: int, *args: str) -> Path:
    out = repo.path / f"shard{k}"
    result = run(repo, cfg, "--tipc-shard", f"{k}/{n}", "--tipc-output", str(out), f"--junitxml={out}/junit.xml",
                 *args)
    assert result.ret == 0, result.stdout.str()
    return out


def junit_cases(path: Path) -> dict[str, str]:
    """``{classname::name: outcome}`` of a JUnit file."""
    out = {}
    for suite in JUnitXml.fromfile(str(path)):
        for case in suite:
            result = case.result[0].__class__.__name__.lower() if case.result else "passed"
            out[f"{case.classname}::{case.name}"] = result
    return out


def statuses(matrix: object) -> list[tuple[str, str]]:
    """Every entry's (path in the matrix, status), links left out (each shard has its own logs)."""
    out: list[tuple[str, str]] = []

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            if "status" in node:
                out.append((path, str(node["status"])))
                return
            for key, value in node.items():
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}/{index}")

    walk(matrix, "")
    return sorted(out)


class TestMerge:
    def test_two_shards_make_one_result_with_the_unsharded_verdicts(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, THREE)
        whole = run(repo, cfg, "--tipc-output", str(repo.path / "whole"), "--tipc-report", "whole.md")
        assert whole.ret == 0
        dirs = [shard(repo, cfg, k, 2) for k in (1, 2)]
        done = merge(repo.path, *map(str, dirs), "--junitxml", "merged.xml", "--report", "merged.md")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "tipc merge: 2 of 2 shards, 30 cells" in done.stdout and "30 passed; exit code 0" in done.stdout
        cases = junit_cases(repo.path / "merged.xml")
        assert len(cases) == 30 and set(cases.values()) == {"passed"}
        merged = json.loads((repo.path / "merged.json").read_text())
        single = json.loads((repo.path / "whole.json").read_text())
        assert sorted((r["nodeid"], r["outcome"]) for r in merged["records"]) == \
            sorted((r["nodeid"], r["outcome"]) for r in single["records"])
        assert statuses(merged["matrix"]) == statuses(single["matrix"]) != []
        # each training ran once in all: the tool counts its calls in the harness root
        assert (repo.path / "counts.txt").read_text().split().count("train") == 2 * 6  # whole run + shards

    def test_a_missing_shard_names_its_cells_and_exits_incomplete(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, THREE)
        first = shard(repo, cfg, 1, 2, "--tipc-dry-run")
        done = merge(repo.path, str(first), str(repo.path / "shard2"), "--junitxml", "m.xml", "--report", "m.md")
        assert done.returncode == EXIT_INCOMPLETE, done.stdout + done.stderr
        assert "INCOMPLETE: shard 2/2: no manifest among the inputs" in done.stdout
        assert "not run (shard 2/2 missing)" in done.stdout
        cases = junit_cases(repo.path / "m.xml")
        assert len(cases) == 30 and list(cases.values()).count("error") == 10
        assert "not run (shard 2/2 missing)" in (repo.path / "m.md").read_text() + (repo.path / "m.cells.md").read_text()

    def test_a_shard_killed_part_way_is_crashed_not_missing(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, THREE)
        dirs = [shard(repo, cfg, k, 2, "--tipc-dry-run") for k in (1, 2)]
        manifest = dirs[1] / "tipc-shard" / "manifest.json"
        body = json.loads(manifest.read_text())
        manifest.write_text(json.dumps({**body, "state": "running", "end": None}))
        records = dirs[1] / "tipc-shard" / "records.jsonl"
        lines = records.read_text().splitlines()
        records.write_text("\n".join(lines[:3]) + "\n" + lines[3][:20])  # three done, a torn fourth
        done = merge(repo.path, *map(str, dirs))
        assert done.returncode == EXIT_INCOMPLETE
        assert "crashed: its manifest has no end" in done.stdout
        assert "tipc merge: 2 of 2 shards, 30 cells" in done.stdout and "7 error" in done.stdout

    def test_two_manifests_claiming_one_shard_are_an_error(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, THREE)
        one = shard(repo, cfg, 1, 2, "--tipc-dry-run")
        again = repo.path / "again"
        assert run(repo, cfg, "--tipc-dry-run", "--tipc-shard", "1/2", "--tipc-output", str(again)).ret == 0
        done = merge(repo.path, str(one), str(again))
        assert done.returncode == EXIT_USAGE
        assert "two manifests claim shard 1/2" in done.stderr

    def test_shards_of_different_selections_are_an_error(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, THREE)
        one = shard(repo, cfg, 1, 2, "--tipc-dry-run")
        two = shard(repo, cfg, 2, 2, "--tipc-dry-run", "-k", "amp")
        done = merge(repo.path, str(one), str(two))
        assert done.returncode == EXIT_USAGE and "selected different items" in done.stderr

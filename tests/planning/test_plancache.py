"""The plan cache (pytest_tipc.planning.cache): items from a cached outline behave as planned ones, and
any change of an input (config, mode, dialect, repository marker, plugin) plans again."""

from __future__ import annotations

import collections
import dataclasses
import json
import sys
from pathlib import Path

import pytest

from pytest_tipc.collection import session as outlines
from pytest_tipc.planning import cache as plancache
from tests.support.configs import t51_text
from tests.support.tiny_repo import config as write_config
from tests.support.tool_script import install

pytest_plugins = ["pytester"]

# 2 train cells (cpu, gpu0) and their CPU infer cells, with and without mkldnn
MATRIX = {4: "gpu_list:-1|0", 5: "--use-gpu:False|True", 42: "--enable-mkldnn:False|True"}


@pytest.fixture
def repo(pytester: pytest.Pytester) -> pytest.Pytester:
    """A harness root with an ini file, so it is the rootdir and holds .pytest_cache."""
    install(pytester.path)
    (pytester.path / "images").mkdir()
    pytester.makeini("[pytest]\n")
    return pytester


@pytest.fixture
def planned(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The configs planned in this process (at collection, or when a cached item runs)."""
    calls: list[str] = []
    original = outlines.make_plan

    def counting(config: object, dialect: str, root: Path, mode: str, **kwargs: str) -> object:
        calls.append(f"{dialect}:{mode}")
        return original(config, dialect, root, mode, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(outlines, "make_plan", counting)
    return calls


def collect_ids(repo: pytest.Pytester, cfg: Path, *args: str) -> list[str]:
    result = repo.runpytest("--tipc-config", str(cfg), "--collect-only", "-q", *args)
    return [line for line in result.stdout.lines if "::" in line]


def entries(repo: pytest.Pytester) -> list[Path]:
    return sorted((repo.path / ".pytest_cache" / "d" / plancache.DIRECTORY).glob("*.json"))


def records(path: Path) -> collections.Counter[str]:
    return collections.Counter(path.read_text().splitlines())


class TestReuse:
    def test_second_collection_uses_the_outline(self, repo: pytest.Pytester, planned: list[str]) -> None:
        cfg = write_config(repo, MATRIX)
        first = collect_ids(repo, cfg)
        assert planned == ["template:lite_train_lite_infer"] and len(entries(repo)) == 1
        assert collect_ids(repo, cfg) == first and first
        assert len(planned) == 1  # collected from the outline

    def test_markers_and_selection_from_the_outline(self, repo: pytest.Pytester, planned: list[str]) -> None:
        cfg = write_config(repo, MATRIX)
        everything = collect_ids(repo, cfg)
        fields = collect_ids(repo, cfg, "-m", "tipc(kind='train', gpus='-1')")
        gpu = collect_ids(repo, cfg, "-m", "gpu")
        words = collect_ids(repo, cfg, "-k", "mkldnn and gpu0")
        assert len(planned) == 1
        assert [i.split("::")[1] for i in fields] == ["train[cpu-null-norm_train]"]
        assert gpu and all("gpu0" in i for i in gpu) and len(gpu) < len(everything)
        assert words and all("-mkldnn-" in i and "gpu0" in i for i in words)

    def test_dry_run_from_the_outline_records_the_same_commands(self, repo: pytest.Pytester, planned: list[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")  # a dry run skips the GPU cells a machine lacks
        cfg = write_config(repo, MATRIX)
        first, second = repo.path / "first.jsonl", repo.path / "second.jsonl"
        repo.runpytest("--tipc-config", str(cfg), "--tipc-dry-run", "--tipc-record", str(first))
        assert len(planned) == 2  # at collection, and again (once) when the items ran
        result = repo.runpytest("--tipc-config", str(cfg), "--tipc-dry-run", "--tipc-record", str(second))
        assert len(planned) == 3  # only when the items ran
        result.assert_outcomes(passed=len(collect_ids(repo, cfg)))
        assert first.read_text() == second.read_text() and first.read_text()

    def test_xdist_workers_from_the_outline(self, repo: pytest.Pytester) -> None:
        pytest.importorskip("xdist")
        cfg = write_config(repo, MATRIX)
        serial, parallel = repo.path / "serial.jsonl", repo.path / "parallel.jsonl"
        repo.runpytest("--tipc-config", str(cfg), "--tipc-dry-run", "--tipc-record", str(serial))
        assert entries(repo)
        result = repo.runpytest_subprocess("--tipc-config", str(cfg), "--tipc-dry-run", "--tipc-record",
                                           str(parallel), "-n", "2", "-p", "xdist")
        assert result.ret == 0, result.stdout.str()
        assert records(serial) == records(parallel)

    def test_real_run_report_from_the_outline(self, repo: pytest.Pytester) -> None:
        cfg = write_config(repo, {4: "gpu_list:-1|0", 5: "--use-gpu:False|True"})
        args = ("--tipc-config", str(cfg), "--tipc-python", sys.executable)

        def report(name: str) -> list[dict[str, object]]:
            path = repo.path / f"{name}.md"
            repo.runpytest(*args, f"--tipc-report={path}", "-rs").assert_outcomes(passed=2, skipped=2)
            data = json.loads(path.with_suffix(".json").read_text())["records"]
            return [{k: v for k, v in r.items() if k not in ("duration", "metrics")} for r in data]

        planned_report = report("planned")
        assert entries(repo)
        assert report("cached") == planned_report and len(planned_report) == 4


    def test_a_plan_that_differs_from_the_outline_fails_its_items(self, repo: pytest.Pytester,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
        cfg = write_config(repo, MATRIX)
        collect_ids(repo, cfg)
        original = outlines.make_plan

        def shifted(config: object, dialect: str, root: Path, mode: str, **kwargs: str) -> object:
            plan = original(config, dialect, root, mode, **kwargs)  # type: ignore[arg-type]
            return dataclasses.replace(plan, cells=plan.cells[1:])

        monkeypatch.setattr(outlines, "make_plan", shifted)  # a planner that is not deterministic
        result = repo.runpytest("--tipc-config", str(cfg), "--tipc-dry-run", "-m", "tipc(kind='train')")
        result.assert_outcomes(failed=2)
        result.stdout.fnmatch_lines(["*the plan made to run this item differs from the one collected*"])


class TestInvalidation:
    def test_edited_config_is_replanned(self, repo: pytest.Pytester, planned: list[str]) -> None:
        cfg = write_config(repo)
        before = collect_ids(repo, cfg)
        write_config(repo, MATRIX)
        after = collect_ids(repo, cfg)
        assert len(planned) == 2 and len(after) > len(before)
        assert collect_ids(repo, cfg) == after and len(planned) == 2
        assert len(entries(repo)) == 1  # one entry per config, rewritten

    def test_plugin_version_bump_is_replanned(self, repo: pytest.Pytester, planned: list[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
        cfg = write_config(repo, MATRIX)
        first = collect_ids(repo, cfg)
        monkeypatch.setattr(plancache, "__version__", "999.0")
        assert collect_ids(repo, cfg) == first and len(planned) == 2
        assert collect_ids(repo, cfg) == first and len(planned) == 2

    def test_plugin_source_change_is_replanned(self, repo: pytest.Pytester, planned: list[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
        cfg = write_config(repo, MATRIX)
        collect_ids(repo, cfg)
        monkeypatch.setattr(plancache, "source_digest", lambda: "an edited planner")
        collect_ids(repo, cfg)
        assert len(planned) == 2

    def test_mode_and_dialect_have_entries_of_their_own(self, repo: pytest.Pytester, planned: list[str]) -> None:
        cfg = write_config(repo, MATRIX)
        lite = collect_ids(repo, cfg)
        whole = collect_ids(repo, cfg, "--tipc-mode", "whole_infer")
        explicit = collect_ids(repo, cfg, "--tipc-dialect", "template")
        assert planned == ["template:lite_train_lite_infer", "template:whole_infer", "template:lite_train_lite_infer"]
        assert all("::model[" in i or "::infer[" in i for i in whole) and whole != lite and explicit == lite
        assert collect_ids(repo, cfg) == lite and collect_ids(repo, cfg, "--tipc-mode", "whole_infer") == whole
        assert len(planned) == 3 and len(entries(repo)) == 3

    def test_repository_marker_is_part_of_the_key(self, repo: pytest.Pytester, planned: list[str]) -> None:
        cfg = write_config(repo, MATRIX)
        collect_ids(repo, cfg)
        (repo.path / "ppocr").mkdir()  # the harness root now looks like PaddleOCR
        repo.runpytest("--tipc-config", str(cfg), "--collect-only", "-q")
        assert planned[-1].startswith("ocr:")

    def test_unreadable_entry_plans_again(self, repo: pytest.Pytester, planned: list[str]) -> None:
        cfg = write_config(repo, MATRIX)
        first = collect_ids(repo, cfg)
        for entry in entries(repo):
            entry.write_text('{"key": ')
        assert collect_ids(repo, cfg) == first and len(planned) == 2
        assert collect_ids(repo, cfg) == first and len(planned) == 2  # rewritten

    def test_cache_clear_and_no_cacheprovider_plan_every_time(self, repo: pytest.Pytester,
                                                               planned: list[str]) -> None:
        cfg = write_config(repo, MATRIX)
        collect_ids(repo, cfg)
        collect_ids(repo, cfg, "--cache-clear")
        assert len(planned) == 2
        collect_ids(repo, cfg, "-p", "no:cacheprovider")
        collect_ids(repo, cfg, "-p", "no:cacheprovider")
        assert len(planned) == 4

    def test_a_config_error_is_never_cached(self, repo: pytest.Pytester, planned: list[str]) -> None:
        lines = t51_text().split("\n")
        del lines[19]
        cfg = repo.path / "test_tipc" / "configs" / "bad" / "train_infer_python.txt"
        cfg.parent.mkdir(parents=True)
        cfg.write_text("\n".join(lines))
        for _ in range(2):
            result = repo.runpytest("--tipc-config", str(cfg), "--collect-only", "-q")
            result.stdout.fnmatch_lines(["*:23: expected the `===*eval_params*===` banner as row 23*"])
        assert not entries(repo) and len(planned) == 2


def test_every_input_is_in_the_key(tmp_path: Path) -> None:
    class FakeCache:
        def mkdir(self, name: str) -> Path:
            return tmp_path

    store = plancache.PlanStore(FakeCache())
    base = {"path": Path("/r/test_tipc/configs/m/a.txt"), "root": Path("/r"), "mode": "whole_infer",
            "dialect": "auto:clas"}
    key = store.entry(b"data", **base)  # type: ignore[arg-type]
    assert key is not None and store.entry(b"data", **base) == key  # type: ignore[arg-type]
    changed = [store.entry(b"other", **base)]  # type: ignore[arg-type]
    for name, value in (("path", Path("/r/test_tipc/configs/m/b.txt")), ("root", Path("/s")),
                        ("mode", "lite_train_lite_infer"), ("dialect", "auto:")):
        changed.append(store.entry(b"data", **{**base, name: value}))  # type: ignore[arg-type]
    assert all(other is not None and other[1] != key[1] for other in changed)


class TestRecordsWhenItemsStart:
    """Records are attached when an item starts: every item that runs has one, a skipped one too."""

    @pytest.mark.parametrize("workers", [[], ["-n", "2", "-p", "xdist"]], ids=["serial", "xdist"])
    def test_marker_skipped_items_have_records(self, repo: pytest.Pytester, workers: list[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")  # a dry run skips the GPU cells a machine lacks
        if workers:
            pytest.importorskip("xdist")
        repo.makeconftest(
            "import pytest\n\n\n"
            "def pytest_collection_modifyitems(items):\n"
            "    for item in items:\n"
            "        if item.name.startswith('infer['):\n"
            "            item.add_marker(pytest.mark.skip(reason='skipped by conftest'))\n")
        cfg = write_config(repo, MATRIX)
        for run in ("planned", "cached"):
            path = repo.path / f"{run}.md"
            args = ["--tipc-config", str(cfg), "--tipc-dry-run", f"--tipc-report={path}", *workers]
            result = repo.runpytest_subprocess(*args) if workers else repo.runpytest(*args)
            result.assert_outcomes(passed=2, skipped=len(collect_ids(repo, cfg)) - 2)
            data = json.loads(path.with_suffix(".json").read_text())["records"]
            assert len(data) == len(collect_ids(repo, cfg))
            assert {r["outcome"] for r in data if r["kind"] == "train"} == {"passed"}
            assert {(r["outcome"], r["reason"]) for r in data if r["kind"] == "infer"} == {
                ("skipped", "skipped by conftest")}


def test_a_failure_while_preparing_one_config_is_that_files_collection_error(
        repo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every config is prepared when the first one is collected; what goes wrong belongs to its file."""
    write_config(repo, MATRIX)
    bad = repo.path / "test_tipc" / "configs" / "bad" / "train_infer_python.txt"
    bad.parent.mkdir(parents=True)
    bad.write_text(t51_text({2: "model_name:explodes"}))
    original = outlines.make_plan

    def exploding(config: object, dialect: str, root: Path, mode: str, **kwargs: str) -> object:
        if "explodes" in getattr(config, "raw_text", ""):
            raise ValueError("a planner bug")
        return original(config, dialect, root, mode, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(outlines, "make_plan", exploding)
    result = repo.runpytest("--tipc-config", "test_tipc/configs", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["*ERROR collecting*bad/train_infer_python.txt*", "*ValueError: a planner bug*"])
    assert result.stdout.str().count("ERROR collecting") == 1
    assert any(line.startswith("test_tipc/configs/tiny/train_infer_python.txt::train[") for line in result.stdout.lines)

"""The engine end to end: train once for many infer cells (in one process and under xdist),
failures that name the train log, relocation, device leases, skips, timeouts and records."""

from __future__ import annotations

import dataclasses
import json
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_tipc.execution.engine import Engine, EngineSettings
from pytest_tipc.layout import FILENAME
from pytest_tipc.verdicts.check import judge
from tests.support import engine_plans
from tests.support.engine_plans import LOG_DIR, make_plan

JUDGE = judge()  # the verdicts stage's wording, as cellrun passes it


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = tmp_path / "repo"
    engine_plans.write_tool(repo)
    engine_plans.write_fake_launcher(repo)
    for name in ("TOOL_FAIL", "TOOL_HANG", "TOOL_SLEEP", "CUDA_VISIBLE_DEVICES"):
        monkeypatch.delenv(name, raising=False)
    return repo


def engine(root: Path, **kw: object) -> Engine:
    settings = {"state_dir": root.parent / "state", "cache_dir": root.parent / "cache",
                "record_path": root.parent / "record.jsonl", "gpus": (), **kw}
    return Engine(EngineSettings(**settings))  # type: ignore[arg-type]


def calls(root: Path) -> list[str]:
    return (root / "calls.txt").read_text().splitlines()


def records(root: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (root.parent / "record.jsonl").read_text().splitlines()]


class TestTrainOnce:
    def test_infer_cells_share_one_training(self, root: Path) -> None:
        plan = make_plan(root, n_infer=3)
        eng = engine(root)
        outcomes = [eng.run_cell(plan, cell, JUDGE) for cell in reversed(plan.cells)]  # infer items first
        assert all(o.ok for o in outcomes), [o.failure for o in outcomes]
        assert calls(root) == ["train", "export", "infer", "infer", "infer"]
        train = outcomes[-1]
        assert train.reused and [r.kind for r in train.results] == ["train", "export"]
        assert outcomes[0].dependency is not None and outcomes[0].dependency.ok
        lines = (root / LOG_DIR / FILENAME).read_text().splitlines()
        assert len(lines) == 5 and all(line.startswith("\x1b[33m Run successfully with command - tiny - ") for line in lines)
        assert [r["argv"][1:3] for r in records(root)] == [["tool.py", "train"], ["tool.py", "export"]] + \
            [["tool.py", "infer"]] * 3
        assert records(root)[0]["argv"][0] == Path(sys.executable).name

    def test_failed_training_fails_its_infer_cells_with_the_log(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TOOL_FAIL", "train")
        plan = make_plan(root, n_infer=2)
        eng = engine(root)
        infer = eng.run_cell(plan, plan.cells[1], JUDGE)
        train_log = root / LOG_DIR / "norm_train_gpus_-1_autocast_null.log"
        assert not infer.ok and infer.failure is not None
        assert infer.failure.startswith("train[cpu-null-norm_train], whose model this cell uses, failed in step train")
        assert f"log: {train_log}" in infer.failure
        assert "RuntimeError: loss is nan" in infer.failure
        assert not eng.run_cell(plan, plan.cells[2], JUDGE).ok
        train = eng.run_cell(plan, plan.cells[0], JUDGE)
        assert not train.ok and train.failure is not None and "step train failed with exit code 1" in train.failure
        assert calls(root) == ["train"]
        status = (root / LOG_DIR / FILENAME).read_text()
        assert status.startswith("\x1b[33m Run failed with command - tiny - tool.py train")

    def test_a_chain_runs_in_order_once(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Template pact/fpgm train cells start from the norm_train checkpoint: infer → pact → norm."""
        plan = make_plan(root, n_infer=1)
        norm, infer = plan.cells
        pact = dataclasses.replace(norm, key="cpu-null-pact_train", requires=norm.key)
        chained = dataclasses.replace(plan, cells=(norm, pact, dataclasses.replace(infer, requires=pact.key)))
        eng = engine(root)
        assert eng.run_cell(chained, chained.cells[2], JUDGE).ok
        assert eng.run_cell(chained, pact, JUDGE).reused and eng.run_cell(chained, norm, JUDGE).reused
        assert calls(root) == ["train", "export", "train", "export", "infer"]
        monkeypatch.setenv("TOOL_FAIL", "train")
        failing = engine(root, state_dir=root.parent / "state2")
        outcome = failing.run_cell(chained, chained.cells[2], JUDGE)
        assert outcome.failure is not None and outcome.failure.startswith(
            "train[cpu-null-pact_train], whose model this cell uses, failed in step train")
        assert "train[cpu-null-norm_train], which this cell starts from, failed in step train" in outcome.failure

    def test_under_xdist_a_train_cell_shared_by_8_infer_items_trains_once(self, root: Path,
                                                                          pytester: pytest.Pytester) -> None:
        pytester.makepyfile(engine_plans=Path(engine_plans.__file__).read_text())
        pytester.makepyfile(test_cells=textwrap.dedent(f"""\
            from pathlib import Path
            import pytest
            import engine_plans
            from pytest_tipc.execution.engine import Engine, EngineSettings
            from pytest_tipc.verdicts.check import judge

            ROOT = Path({str(root)!r})
            PLAN = engine_plans.make_plan(ROOT, n_infer=8)

            @pytest.fixture(scope="session")
            def engine(tmp_path_factory, worker_id):
                base = tmp_path_factory.getbasetemp()
                shared = base.parent if worker_id != "master" else base
                return Engine(EngineSettings(state_dir=shared / "state", cache_dir=shared / "cache",
                                             worker_id=worker_id, gpus=(), record_path=ROOT / "record.jsonl"))

            @pytest.mark.parametrize("index", range(len(PLAN.cells)), ids=[c.key for c in PLAN.cells])
            def test_cell(engine, index):
                outcome = engine.run_cell(PLAN, PLAN.cells[index], judge())
                assert outcome.ok, outcome.failure
        """))
        result = pytester.runpytest_subprocess("-n", "3", "-p", "no:cacheprovider")
        result.assert_outcomes(passed=9)
        assert sorted(calls(root)) == ["export"] + ["infer"] * 8 + ["train"]
        assert len((root / LOG_DIR / FILENAME).read_text().splitlines()) == 10
        assert len((root / "record.jsonl").read_text().splitlines()) == 10


class TestRun:
    def test_output_dir_moves_everything(self, root: Path, tmp_path: Path) -> None:
        out = tmp_path / "elsewhere"
        plan = make_plan(root, n_infer=1)
        eng = engine(root, output_dir=out)
        assert all(eng.run_cell(plan, cell, JUDGE).ok for cell in plan.cells)
        moved = out / "tiny" / "lite_train_lite_infer"
        assert (moved / FILENAME).is_file()
        assert (moved / "norm_train_gpus_-1_autocast_null" / "inference" / "inference.json").is_file()
        # infer logs also name the cell whose model they used (see Engine._log_path)
        assert (moved / "python_infer_cpu_batchsize_1_cpu-null-norm_train.log").is_file()
        assert not (root / "test_tipc").exists()
        assert str(moved) in (moved / FILENAME).read_text()

    def test_stage_timeout_kills_the_step(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TOOL_HANG", "infer")
        plan = make_plan(root, n_infer=1)
        outcome = engine(root, stage_timeouts={"infer": 1.5}, kill_grace=1).run_cell(plan, plan.cells[1], JUDGE)
        assert not outcome.ok and outcome.failure is not None
        assert outcome.failure.startswith("timed out after 1.5 s in step infer")
        assert "infer: args" in outcome.failure  # the log tail

    def test_the_harness_timeout_of_a_step_applies_when_smaller(self, root: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TOOL_HANG", "infer")
        plan = make_plan(root, n_infer=1)
        infer = plan.cells[1]
        limited = dataclasses.replace(infer, steps=(dataclasses.replace(infer.steps[0], timeout=1.0),))
        outcome = engine(root, timeout=300, kill_grace=1).run_cell(plan, limited, JUDGE)
        assert outcome.failure is not None and outcome.failure.startswith("timed out after 1 s in step infer")

    def test_prepare_runs_once_per_engine_and_config(self, root: Path) -> None:
        config = root / "test_tipc/configs/tiny/train_infer_python.txt"
        config.parent.mkdir(parents=True)
        config.write_text("model_name:tiny\n")
        (root / "test_tipc/prepare.sh").write_text('echo "$@" >> prepared.txt\n')
        eng = engine(root)
        eng.prepare(config, "lite_train_lite_infer", root, JUDGE)
        eng.prepare(config, "lite_train_lite_infer", root, JUDGE)
        engine(root).prepare(config, "lite_train_lite_infer", root, JUDGE)
        assert (root / "prepared.txt").read_text() == "test_tipc/configs/tiny/train_infer_python.txt lite_train_lite_infer\n"


class TestDevices:
    def test_gpu_cells_skip_without_gpus(self, root: Path) -> None:
        plan = make_plan(root, n_infer=2, gpus="0,1")
        eng = engine(root)
        # no -m hint: this plan has no CPU cell it would select (issue 9)
        assert eng.skip_reason(plan, plan.cells[0]) == (
            "needs 2 GPUs, 0 visible (--tipc-gpus is empty); run on a GPU machine")
        assert (eng.skip_reason(plan, plan.cells[1]) or "").startswith(
            "its model comes from train[gpu0_1-null-norm_train], which is skipped: needs 2 GPUs")
        outcome = eng.run_cell(plan, plan.cells[1], JUDGE)
        assert outcome.skipped and not outcome.ok

    def test_multi_gpu_cell_leases_two_and_maps_ids(self, root: Path) -> None:
        plan = make_plan(root, n_infer=1, gpus="0,1", device="gpu")
        eng = engine(root, gpus=("0", "1", "2", "3"))
        with eng.pool.lease(1) as taken:  # another worker holds GPU 0
            assert taken == ("0",)
            train = eng.run_cell(plan, plan.cells[0], JUDGE)
            infer = eng.run_cell(plan, plan.cells[1], JUDGE)
        assert train.ok and infer.ok, (train.failure, infer.failure)
        assert train.devices == ("1", "2") and infer.devices == ("1",)
        got = [(r["argv"][1:5], r["cuda_visible_devices"]) for r in records(root)]
        assert got == [
            (["-m", "fakelaunch", "--gpus=1,2", "tool.py"], "1,2"),  # launch: both places carry physical ids
            (["tool.py", "export", f"--save-dir={LOG_DIR}/norm_train_gpus_0,1_autocast_null"], "1"),
            (["tool.py", "infer", f"--model-dir={LOG_DIR}/norm_train_gpus_0,1_autocast_null/inference",
              "--batch-size=1"], "1"),
        ]

    def test_multi_node_cell_is_rehearsed_on_cpu(self, root: Path) -> None:
        plan = make_plan(root, n_infer=1, gpus="127.0.0.1,127.0.0.2;0,1")
        eng = engine(root)
        assert eng.skip_reason(plan, plan.cells[0]) is None
        outcome = eng.run_cell(plan, plan.cells[0], JUDGE)
        assert outcome.ok, outcome.failure
        launches = [r for r in records(root) if r["argv"][1:3] == ["-m", "fakelaunch"]]
        assert [r["argv"][3:9] for r in launches] == [
            ["--master", launches[0]["argv"][4], "--nnodes", "2", "--rank", "0"],
            ["--master", launches[0]["argv"][4], "--nnodes", "2", "--rank", "1"],
        ]
        assert all(r["cuda_visible_devices"] is None for r in launches)
        assert calls(root).count("train") == 2  # one per node

    def test_remote_nodes_skip(self, root: Path) -> None:
        plan = make_plan(root, n_infer=1, gpus="10.1.1.1,10.1.1.2;0,1")
        assert "--tipc-local-nodes" in (engine(root).skip_reason(plan, plan.cells[0]) or "")
        assert engine(root, local_nodes=True).skip_reason(plan, plan.cells[0]) is None


def test_engine_settings_are_derived_from_the_options(tmp_path: Path) -> None:
    from pytest_tipc.settings import Settings

    settings = Settings(configs=(), mode="lite_train_lite_infer", dialect="auto", output=tmp_path / "out",
                        record=tmp_path / "rec.jsonl", timeout=5.0, stage_timeouts={"train": 9.0}, gpus=("1",),
                        local_nodes=True, stream=True, progress=2.0, python="python3", prepare=("make data",),
                        prepare_policy="always", keep_going=True)
    derived = EngineSettings.derived(settings, state_dir=tmp_path / "s", cache_dir=None, worker_id="gw1",
                                     stream=None, progress=None)
    assert derived == EngineSettings(
        state_dir=tmp_path / "s", cache_dir=None, output_dir=tmp_path / "out", timeout=5.0,
        stage_timeouts={"train": 9.0}, record_path=tmp_path / "rec.jsonl", stream=None, python="python3",
        gpus=("1",), worker_id="gw1", local_nodes=True, prepare_command=("make data",), keep_going=True,
        prepare_policy="always", progress=None)
    # the session's fields never come from the options, even where a name is shared (stream, progress)
    assert EngineSettings.derived(settings, state_dir=tmp_path, cache_dir=None).progress is None


def test_a_plan_without_a_root_is_refused(root: Path) -> None:
    plan = dataclasses.replace(make_plan(root, n_infer=1), root="")
    with pytest.raises(ValueError, match="no harness root"):
        engine(root).run_cell(plan, plan.cells[0], JUDGE)

"""A dialect family defined in a conftest.py (its own :class:`pytest_tipc.Family`, no package of the
plugin's) joins every suite: train_infer_python, paddle2onnx, ptq and benchmark_train, detected
by its repository marker, and the records show the commands its planners build."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import pytest_tipc
from pytest_tipc.model.cells import Plan
from pytest_tipc.planning.dialects import dialect_names, family, planner, unregister_dialect
from pytest_tipc.planning.family import DialectFamily

pytest_plugins = ["pytester"]

TOY_CONFIG = "===toy_params===\nmodel_name:toy\npython:python3\nrun:toy.py --steps 2\n"

# The toy family: a class of its own (the Protocol types it), returned by the pytest_tipc_dialects hook.
CONFTEST = '''
from pytest_tipc.model.cells import Cell, Plan, Step, infer_cell, model_cell, train_cell


def _step(kind, *words):
    return Step(kind, ("python3", "toy.py", *words), log=f"./toy_out/{kind}.log", status="Run {verdict} - toy")


def _fields(mode, kind):
    return (("model", "toy"), ("mode", mode), ("kind", kind))


class ToyFamily:
    name = "toy"
    rows = {}
    trainer_aliases = ()
    checks_trainers = True
    markers = ("toy_repo",)
    roots = ()
    result_lines = (r"^toy result",)
    save_dirs = ((), "")

    def plan(self, config, mode, root):
        cell = train_cell(model="toy", mode=mode, gpus="-1", autocast="null", trainer="toy_train",
                          steps=(_step("train", config.value(4)),), lineno=4)
        return Plan("toy", mode, "toy", "./toy_out", (cell,))

    def onnx(self, config, mode, root):
        model = Cell("model", "m0-toy", (_step("convert", "--to-onnx"),), _fields(mode, "model"))
        onnx = Cell("onnx", "m0-toy-cpu", (_step("infer", "--onnx"),), (*_fields(mode, "onnx"), ("device", "cpu")),
                    "m0-toy")
        return Plan("toy", mode, "toy", "./toy_out", (model, onnx))

    def ptq(self, config, mode, root):
        model = model_cell(model="toy", mode=mode, index=0, infer_model="toy_model", steps=(_step("quant", "--kl"),))
        infer = infer_cell(parent=model, device="cpu", precision="int8", batch_size="1",
                           steps=(_step("infer", "--int8"),))
        return Plan("toy", mode, "toy", "./toy_out", (model, infer))

    def bench(self, config, mode, root, *, bench="", benchmark_root=None):
        cell = Cell("bench", f"toy-{bench or 'all'}", (_step("train", "--bench", bench or "all"),),
                    _fields(mode, "bench"))
        return Plan("toy", mode, "toy", "./toy_out", (cell,))


def pytest_tipc_dialects():
    return [ToyFamily()]
'''

SESSIONS = [  # mode (and suite), then the commands the toy planners build
    (("--tipc-mode", "lite_train_lite_infer"), [["python3", "toy.py", "toy.py --steps 2"]]),
    (("--tipc-mode", "paddle2onnx_infer"), [["python3", "toy.py", "--to-onnx"], ["python3", "toy.py", "--onnx"]]),
    (("--tipc-mode", "whole_infer", "--tipc-suite", "ptq"),
     [["python3", "toy.py", "--kl"], ["python3", "toy.py", "--int8"]]),
    (("--tipc-mode", "benchmark_train", "--tipc-bench", "dynamic_bs1_fp32_DP_N1C1"),
     [["python3", "toy.py", "--bench", "dynamic_bs1_fp32_DP_N1C1"]]),
]
KINDS = [["train"], ["model", "onnx"], ["model", "ptq"], ["bench"]]


@pytest.fixture
def repo(pytester: pytest.Pytester) -> Iterator[pytest.Pytester]:
    pytester.makeini("[pytest]\n")
    (pytester.path / "toy_repo").mkdir()  # the toy family's repository marker
    toy = pytester.path / "test_tipc" / "configs" / "toy"
    toy.mkdir(parents=True)
    (toy / "train_infer_python.txt").write_text(TOY_CONFIG)
    pytester.makeconftest(CONFTEST)
    yield pytester
    unregister_dialect("toy")


@pytest.mark.parametrize("index", range(len(SESSIONS)), ids=["train_infer", "paddle2onnx", "ptq", "bench"])
def test_a_conftest_family_joins_every_suite(repo: pytest.Pytester, index: int) -> None:
    args, commands = SESSIONS[index]
    result = repo.runpytest("--tipc-config", "test_tipc/configs/toy/train_infer_python.txt", "--tipc-dry-run", "--tipc-record",
                            "rec.jsonl", *args, "-m", "tipc(dialect='toy')", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=len(commands))
    records = [json.loads(line) for line in (repo.path / "rec.jsonl").read_text().splitlines()]
    assert [r["argv"] for r in records] == commands
    result.stdout.fnmatch_lines([f"*toy/train_infer_python.txt::{kind}[[]*PASSED*" for kind in KINDS[index]])


def test_the_public_api() -> None:
    assert {"register_dialect", "Family", "DialectFamily", "HOOK_NAMES"} <= set(pytest_tipc.__all__)
    assert "pytest_tipc_dialects" in pytest_tipc.HOOK_NAMES

    def toy(config: object, mode: str, root: object) -> Plan:
        return Plan("toy3", mode, "m", ".")

    pytest_tipc.register_dialect(DialectFamily("toy3", toy, markers=("toy3_repo",)))  # type: ignore[arg-type]
    try:
        assert planner("toy3") is toy and family("toy3").markers == ("toy3_repo",)
        assert dialect_names()[-1] == "toy3" and family("toy3").onnx is None
    finally:
        pytest_tipc.unregister_dialect("toy3")


def test_a_family_without_a_suite_planner_is_refused_by_that_suite(repo: pytest.Pytester) -> None:
    """The older ``register_dialect(name, plan)`` form: a family with a train/infer planner only."""
    repo.makeconftest(CONFTEST.replace("def pytest_tipc_dialects():\n    return [ToyFamily()]",
                                       "from pytest_tipc import register_dialect\n\n"
                                       "register_dialect('toy', ToyFamily().plan)"))
    result = repo.runpytest("--tipc-config", "test_tipc/configs/toy/train_infer_python.txt", "--tipc-dialect", "toy",
                            "--tipc-mode", "paddle2onnx_infer", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["*a harness family with a paddle2onnx suite (s32, ocr, clas, seg, det)*"])

"""A new dialect is one package plus one registration: ``register_dialect`` and the
``pytest_tipc_detect_dialect`` hook, used from a conftest as a plugin author would."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from pytest_tipc.model.cells import Plan
from pytest_tipc.planning.dialects import (
    BUILTIN,
    dialect_names,
    planner,
    register_dialect,
    unregister_dialect,
)
from tests.support.configs import t51_text

pytest_plugins = ["pytester"]

TOY_CONFIG = "===toy_params===\nmodel_name:toy\npython:python3\nrun:toy.py --steps 2\n"

# The toy family: a package would hold `plan`; the conftest registers it and detects its configs.
CONFTEST = '''
from pytest_tipc.model.cells import Plan, Step, train_cell
from pytest_tipc.planning.dialects import register_dialect
from pytest_tipc.planning.dialects.bash import words

TRAINER = "{trainer}"


def plan(config, mode, root):
    argv = tuple(words(config.value(3) + " " + config.value(4)))
    step = Step("train", argv, log="./toy_out/train.log", status="Run {{verdict}} with command - toy")
    cell = train_cell(model=config.value(2), mode=mode, gpus="-1", autocast="null", trainer=TRAINER,
                      steps=(step,), lineno=4)
    return Plan("toy", mode, config.value(2), "./toy_out", (cell,))


register_dialect("toy", plan)


def pytest_tipc_detect_dialect(config, root):
    seen = root / "detected.txt"
    seen.write_text(seen.read_text() + config.path.name + "\\n" if seen.exists() else config.path.name + "\\n")
    return "toy" if config.raw_text.startswith("===toy_params===") else None
'''


@pytest.fixture
def repo(pytester: pytest.Pytester) -> Iterator[pytest.Pytester]:
    pytester.makeini("[pytest]\n")
    toy = pytester.path / "test_tipc" / "configs" / "toy"
    toy.mkdir(parents=True)
    (toy / "train_infer_python.txt").write_text(TOY_CONFIG)
    tiny = pytester.path / "test_tipc" / "configs" / "tiny"
    tiny.mkdir(parents=True)
    (tiny / "train_infer_python.txt").write_text(t51_text())
    pytester.makeconftest(CONFTEST.format(trainer="toy_train"))
    yield pytester
    unregister_dialect("toy")


def records(repo: pytest.Pytester) -> list[dict[str, object]]:
    return [json.loads(line) for line in (repo.path / "rec.jsonl").read_text().splitlines()]


def test_a_conftest_adds_a_dialect_that_auto_detects(repo: pytest.Pytester) -> None:
    result = repo.runpytest("--tipc-config", "test_tipc/configs", "--tipc-dry-run", "--tipc-record", "rec.jsonl",
                            "--collect-only", "-q")
    result.stdout.fnmatch_lines(["*toy/train_infer_python.txt::train[[]cpu-null-toy_train[]]*"])
    result.stdout.fnmatch_lines(["*tiny/train_infer_python.txt::train[[]cpu-null-norm_train[]]*"])  # built-in
    assert sorted((repo.path / "detected.txt").read_text().split()) == ["train_infer_python.txt"] * 2
    result = repo.runpytest("--tipc-config", "test_tipc/configs/toy", "--tipc-dry-run", "--tipc-record",
                            "rec.jsonl", "-m", "tipc(dialect='toy')")
    result.assert_outcomes(passed=1)
    assert [r["argv"] for r in records(repo)] == [["python3", "toy.py", "--steps", "2"]]


def test_a_registered_dialect_is_planned_every_session(repo: pytest.Pytester) -> None:
    """The plan cache keys on the plugin's own source; a registered planner is not part of it, so
    its configs are never served from the cache."""
    args = ("--tipc-config", "test_tipc/configs/toy", "--tipc-dialect", "toy", "--collect-only", "-q")
    repo.runpytest(*args).stdout.fnmatch_lines(["*train[[]cpu-null-toy_train[]]*"])
    repo.makeconftest(CONFTEST.format(trainer="toy_train2"))
    result = repo.runpytest(*args)
    result.stdout.fnmatch_lines(["*train[[]cpu-null-toy_train2[]]*"])
    assert "toy_train]" not in result.stdout.str()


def test_an_unknown_dialect_is_a_usage_error(repo: pytest.Pytester) -> None:
    result = repo.runpytest("--tipc-config", "test_tipc/configs/toy", "--tipc-dialect", "nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--tipc-dialect=nope: choose auto or one of s32, template, *, toy*"])


def test_registry_rules() -> None:
    def toy(config: object, mode: str, root: object) -> Plan:
        return Plan("toy2", mode, "m", ".")

    def other(config: object, mode: str, root: object) -> Plan:
        return Plan("toy2", mode, "m", ".")

    with pytest.raises(ValueError, match="built in"):
        register_dialect("ocr", toy)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dialect name"):
        register_dialect("auto", toy)  # type: ignore[arg-type]
    register_dialect("toy2", toy)  # type: ignore[arg-type]
    try:
        register_dialect("toy2", toy)  # type: ignore[arg-type]  # again: a no-op
        with pytest.raises(ValueError, match="already registered"):
            register_dialect("toy2", other)  # type: ignore[arg-type]
        assert planner("toy2") is toy and dialect_names() == (*BUILTIN, "toy2")
    finally:
        unregister_dialect("toy2")
    with pytest.raises(ValueError, match="unknown TIPC dialect 'toy2'"):
        planner("toy2")

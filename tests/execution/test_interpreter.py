"""The interpreter a config's ``python:`` runs: beside ``sys.executable`` first, then PATH; shown in
the header; refused at the first step when it cannot import paddle while pytest's can."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_tipc.execution.step import interpreter
from tests.support.configs import t51_text
from tests.support.fake_repo import deactivated_env, make_venv
from tests.support.tool_script import install

RESOLVE = ("import os, sys; from pytest_tipc.execution.step.interpreter import resolve, describe; "
           "r = resolve('python', os.environ); print(r.argv0); print(describe('python', os.environ))")


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_venv(tmp_path_factory.mktemp("venv") / "v")


def shim(folder: Path, name: str = "python") -> Path:
    """A ``python`` on PATH that is not the venv's (as a pyenv shim would be)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\nexec {sys.executable} \"$@\"\n")
    path.chmod(0o755)
    return path


class TestLookup:
    def test_beside_the_running_interpreter_before_path(self, venv: Path, tmp_path: Path) -> None:
        env = deactivated_env(venv)
        env["PATH"] = f"{shim(tmp_path / 'shims').parent}{os.pathsep}{env['PATH']}"
        proc = subprocess.run([str(venv), "-c", RESOLVE], env=env, capture_output=True, text=True, check=True)
        argv0, described = proc.stdout.splitlines()
        assert argv0 == str(venv.parent / "python")
        assert described == f"python → {venv.parent / 'python'} (beside the interpreter running pytest)"

    def test_path_when_nothing_is_beside(self, tmp_path: Path) -> None:
        found = shim(tmp_path / "bin", "python3.79")
        resolved = interpreter.resolve("python3.79", {"PATH": str(found.parent)})
        assert resolved.argv0 == str(found) and not resolved.note
        assert interpreter.describe("python3.79", {"PATH": str(found.parent)}) == f"python3.79 → {found} (on PATH)"

    def test_the_header_shows_the_interpreter(self, pytester: pytest.Pytester) -> None:
        cfg = pytester.path / "test_tipc" / "configs" / "m" / "train_infer_python.txt"
        cfg.parent.mkdir(parents=True)
        cfg.write_text(t51_text({3: "python:python3.79"}))
        result = pytester.runpytest("--tipc-config", str(cfg), "--collect-only")
        result.stdout.fnmatch_lines([f"tipc: interpreter python3.79 → {sys.executable} (the interpreter running "
                                     "pytest, as no python3.79 starts beside it or on PATH)"])
        result = pytester.runpytest("--tipc-config", str(cfg), "--collect-only", "--tipc-python", sys.executable)
        result.stdout.fnmatch_lines([f"tipc: interpreter python3.79 → {sys.executable} (--tipc-python)"])


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv that cannot import paddle (a module-level fixture: pytest 9.2 deprecates class-scoped
    fixtures defined as methods)."""
    path = tmp_path_factory.mktemp("bare") / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, capture_output=True)
    return path / "bin" / "python"


@pytest.mark.skipif(importlib.util.find_spec("paddle") is None, reason="needs paddle in the interpreter running pytest")
class TestWithoutPaddle:
    def test_the_problem_names_both_interpreters_and_the_fix(self, bare: Path) -> None:
        problem = interpreter.paddle_problem(str(bare), os.environ)
        assert problem == (f"the steps' interpreter {bare} cannot import paddle, while {sys.executable} (the "
                           f"interpreter running pytest) can. Fix: run with --tipc-python {sys.executable}, or "
                           f"install paddle into {bare}")
        assert interpreter.paddle_problem(sys.executable, os.environ) == ""

    def test_the_first_step_fails_with_it_and_nothing_runs(self, pytester: pytest.Pytester, bare: Path) -> None:
        install(pytester.path)
        cfg = pytester.path / "test_tipc" / "configs" / "m" / "train_infer_python.txt"
        cfg.parent.mkdir(parents=True)
        cfg.write_text(t51_text())
        result = pytester.runpytest("--tipc-config", str(cfg), "--tipc-python", str(bare), "-p", "no:cacheprovider",
                                    "-m", "tipc(kind='train')")
        result.assert_outcomes(failed=1)
        out = result.stdout.str()
        assert f"step train could not start: the steps' interpreter {bare} cannot import paddle" in out
        assert f"--tipc-python {sys.executable}" in out
        assert not (pytester.path / "counts.txt").exists()  # tool.py never ran

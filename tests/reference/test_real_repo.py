"""A real-repo rehearsal: a PaddleClas-like checkout (tests/support/fake_repo.py) runs through the plugin as
it is, from the repo root, with the venv that runs pytest not activated."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.configs import t51_text
from tests.support.fake_repo import BASE, CONFIG, CONFIGS, build, deactivated_env, make_venv, ran
from tests.support.tool_script import install

needs_corpus = pytest.mark.skipif(not (CONFIGS / BASE).is_file(), reason="needs ../shared/conformance beside the checkout")

OUTPUT = "test_tipc/output/MobileNetV3_small_x1_0/lite_train_lite_infer"


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_venv(tmp_path_factory.mktemp("venv") / "v")


def pytest_in(venv: Path, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``venv/bin/python -m pytest …`` from the repo root, in a shell where the venv is not active."""
    return subprocess.run([str(venv), "-m", "pytest", "-rA", *args], cwd=root, env=deactivated_env(venv),
                          capture_output=True, text=True, timeout=600)


def test_the_venv_runs_this_checkouts_plugin_and_pytest(venv: Path, tmp_path: Path) -> None:
    """The venv is made from the base interpreter; it must still see what runs these tests."""
    import pytest_tipc

    probe = "import pytest, pytest_tipc, paddle; print(pytest.__version__, pytest_tipc.__file__)"
    shown = subprocess.run([str(venv), "-c", probe], cwd=tmp_path, env=deactivated_env(venv), capture_output=True,
                           text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert shown.stdout.split() == [pytest.__version__, pytest_tipc.__file__]


@needs_corpus
def test_collects_runs_and_reports_it(venv: Path, tmp_path: Path) -> None:
    root = tmp_path / "PaddleClas"
    build(root)
    first = pytest_in(venv, root, "--tipc-config", CONFIG)
    out = first.stdout
    assert first.returncode == 0, out[-4000:] + first.stderr[-2000:]
    assert re.search(r"\b3 passed\b", out) and "error" not in out.lower().split("warnings summary")[0]
    assert not (root / "ROOT_INIT_IMPORTED").exists()  # the root __init__.py was never imported
    # the interpreter: the venv's (beside the one running pytest), shown in the header, for every script
    python = venv.parent / "python"
    assert f"tipc: interpreter python → {python} (beside the interpreter running pytest)" in out
    assert ran(root) == [("setup.py", str(python)), ("train", str(python)), ("eval", str(python)),
                         ("export", str(python)), ("infer", str(python)), ("infer", str(python))]
    # preparation: stdin closed, the offline download named in the warnings summary
    log = next((root / "test_tipc" / "output").glob("prepare_*.log"))
    assert "stdin is closed" in log.read_text()
    assert "PrepareWarning" in out and re.search(rf"{re.escape(str(log))}:\d+: .*(resolve host|Name or service)", out)
    # results_python.log names the logs that were written
    status = (root / OUTPUT / "results_python.log").read_text().splitlines()
    assert len(status) == 5 and all("Run successfully" in line for line in status)
    for line in status:
        logged = re.search(r" - (\S+\.log) ", line)
        assert logged and Path(root, logged.group(1)).is_file(), line
    # nothing installed or built in the checkout
    assert not [p.name for p in root.iterdir() if p.name in ("build", "dist") or p.name.endswith(".egg-info")]

    again = pytest_in(venv, root, "--tipc-config", CONFIG)  # pytest's cache: prepared once
    assert again.returncode == 0 and [s for s, _ in ran(root)].count("setup.py") == 1
    assert "PrepareWarning" not in again.stdout  # told once, by the session that ran prepare.sh (issue 18)


@needs_corpus
def test_a_root_init_changes_nothing_in_a_dry_run(venv: Path, tmp_path: Path) -> None:
    outcomes = []
    for with_init in (True, False):
        root = tmp_path / f"repo-{with_init}"
        build(root, root_init=with_init)
        result = pytest_in(venv, root, "--tipc-config", CONFIG, "--tipc-dry-run", "-p", "no:cacheprovider", "-q")
        assert result.returncode == 0, result.stdout[-3000:]
        outcomes.append(sorted(line for line in result.stdout.splitlines() if line.startswith("PASSED")))
        assert not (root / "ROOT_INIT_IMPORTED").exists() and not (root / "ran.txt").exists()
    assert outcomes[0] == outcomes[1] and len(outcomes[0]) == 3


@needs_corpus
def test_without_pytests_cache_preparation_is_stamped_in_the_output_dir(venv: Path, tmp_path: Path) -> None:
    root = tmp_path / "PaddleClas"
    build(root)
    for _ in range(2):
        result = pytest_in(venv, root, "--tipc-config", CONFIG, "-p", "no:cacheprovider", "-m", "tipc(kind='train')")
        assert result.returncode == 0, result.stdout[-3000:]
    assert [s for s, _ in ran(root)].count("setup.py") == 1
    assert list((root / "test_tipc" / "output" / ".tipc-prepare").glob("*.json"))


def test_results_python_log_names_the_logs_written(pytester: pytest.Pytester) -> None:
    """The infer logs carry the train cell's id (docs/deviations.md); the status lines say so."""
    install(pytester.path)
    cfg = pytester.path / "test_tipc" / "configs" / "tiny" / "train_infer_python.txt"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(t51_text({43: "--cpu-threads:1|2"}))
    result = pytester.runpytest("--tipc-config", str(cfg), "--tipc-python", sys.executable, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    status = (pytester.path / "test_tipc" / "output" / "results_python.log").read_text().splitlines()
    named = [m.group(1) for line in status for m in [re.search(r"> (\S+\.log) 2>&1", line)] if m]
    assert len(named) == 2 and all(name.endswith("_cpu-null-norm_train.log") for name in named)
    assert all((pytester.path / name).is_file() for name in named)

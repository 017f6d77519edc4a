"""Data preparation: once per (config, mode) across processes, cached between sessions."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sys
import warnings
from pathlib import Path

import pytest

from pytest_tipc.execution import engine as engine_module
from pytest_tipc.execution.engine import Engine, EngineSettings
from pytest_tipc.execution.prepare import DEFAULT_TIMEOUT, PrepareError, PrepareWarning, prepare_data
from pytest_tipc.settings import read_settings
from pytest_tipc.verdicts import failures
from pytest_tipc.verdicts.check import judge

JUDGE = judge()

CONFIG = "test_tipc/configs/m/train_infer_python.txt"
PREPARE_SH = """\
echo "$1 $2" >> prepare_calls.txt
echo "downloading lite data for $2"
mkdir -p lite_data && touch lite_data/ok
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "test_tipc/configs/m").mkdir(parents=True)
    (root / CONFIG).write_text("===train_params===\nmodel_name:m\npython:python\n")
    (root / "test_tipc/prepare.sh").write_text(PREPARE_SH)
    return root


def prepare(root: Path, session: str = "s1", config: str = CONFIG, **kw: object) -> str:
    base = root.parent
    return prepare_data(root / config, "lite_train_lite_infer", root, state_dir=base / session,
                        cache_dir=base / "cache", log_dir=root / "test_tipc/output", report=failures.prepare_report,
                        **kw)  # type: ignore[arg-type]


def calls(root: Path) -> list[str]:
    path = root / "prepare_calls.txt"
    return path.read_text().splitlines() if path.exists() else []


class TestPrepareSh:
    def test_runs_once_and_is_cached_between_sessions(self, repo: Path) -> None:
        assert prepare(repo) == f"ran bash test_tipc/prepare.sh {CONFIG} lite_train_lite_infer"
        assert calls(repo) == [f"{CONFIG} lite_train_lite_infer"]
        assert (repo / "lite_data/ok").exists()
        assert prepare(repo) == "cached"
        assert prepare(repo, session="s2") == "cached"
        log = repo / "test_tipc/output/prepare_m_train_infer_python_lite_train_lite_infer.log"
        assert "downloading lite data for lite_train_lite_infer" in log.read_text()

    def test_a_changed_config_or_script_prepares_again(self, repo: Path) -> None:
        prepare(repo)
        (repo / CONFIG).write_text("===train_params===\nmodel_name:m2\npython:python\n")
        assert prepare(repo, session="s2").startswith("ran ")
        (repo / "test_tipc/prepare.sh").write_text(PREPARE_SH + "echo v2\n")
        assert prepare(repo, session="s3").startswith("ran ")
        assert len(calls(repo)) == 3

    def test_failure_names_the_log_and_is_not_retried_in_the_session(self, repo: Path) -> None:
        (repo / "test_tipc/prepare.sh").write_text(PREPARE_SH + "echo 'wget: unable to resolve host'\nexit 4\n")
        with pytest.raises(PrepareError) as first:
            prepare(repo)
        text = str(first.value)
        assert "step prepare failed with exit code 4" in text
        assert "wget: unable to resolve host" in text and "prepare_m_train_infer_python_lite_train_lite_infer.log" in text
        with pytest.raises(PrepareError) as second:
            prepare(repo)
        assert str(second.value) == text and len(calls(repo)) == 1
        with pytest.raises(PrepareError):  # a new session tries again
            prepare(repo, session="s2")
        assert len(calls(repo)) == 2


def _prepare_in_process(root: Path, config: str = CONFIG) -> str:
    return prepare(root, config=config)


def test_concurrent_workers_prepare_once(repo: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        outcomes = pool.map(_prepare_in_process, [repo] * 4)
    assert len(calls(repo)) == 1
    assert sorted(outcomes)[:3] == ["cached"] * 3


OVERLAP_SH = """\
# fails when another preparation runs in this root at the same time (upstream scripts rm -rf and
# re-extract shared folders such as ./dataset, so two at once clobber each other)
if ! mkdir preparing 2>/dev/null; then echo "ERROR: another preparation is running"; exit 3; fi
sleep 0.3
echo "$1" >> prepare_calls.txt
rmdir preparing
"""


def test_preparations_of_different_configs_in_one_root_take_turns(repo: Path) -> None:
    """Each config has its own preparation, but they share the repo's data folders: xdist workers
    starting two configs at once prepare one after the other, never both at once."""
    (repo / "test_tipc/prepare.sh").write_text(OVERLAP_SH)
    configs = [f"test_tipc/configs/m/train_{name}_infer_python.txt" for name in ("a", "b", "c", "d")]
    for n, config in enumerate(configs):
        (repo / config).write_text(f"===train_params===\nmodel_name:m{n}\npython:python\n")
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        outcomes = pool.starmap(_prepare_in_process, [(repo, config) for config in configs])
    assert all(outcome.startswith("ran ") for outcome in outcomes), outcomes
    assert sorted(calls(repo)) == sorted(configs)


class TestDeclared:
    def test_command_template_substitutes_per_word(self, repo: Path) -> None:
        (repo / "test_tipc/prepare.sh").unlink()
        (repo / "prep.py").write_text("import sys\nopen('prep_args.txt', 'w').write(repr(sys.argv[1:]))\n")
        command = ("python", "prep.py", "--config={config}", "{mode}", "; touch PWNED")
        assert prepare(repo, command=command) == f"ran python prep.py --config={CONFIG} lite_train_lite_infer '; touch PWNED'"
        assert (repo / "prep_args.txt").read_text() == repr(
            [f"--config={CONFIG}", "lite_train_lite_infer", "; touch PWNED"])
        assert not (repo / "PWNED").exists()
        assert prepare(repo, command=command) == "cached"
        (repo / "prep.py").write_text("import sys\nopen('prep_args.txt', 'w').write('v2')\n")
        assert prepare(repo, session="s2", command=command).startswith("ran ")

    def test_a_single_string_command_is_split(self, repo: Path) -> None:
        (repo / "test_tipc/prepare.sh").unlink()
        (repo / "prep.py").write_text("import sys\nopen('prep_args.txt', 'w').write(repr(sys.argv[1:]))\n")
        prepare(repo, command=("python prep.py {mode} 'a b'",))
        assert (repo / "prep_args.txt").read_text() == repr(["lite_train_lite_infer", "a b"])

    def test_hook_runs_once_per_session(self, repo: Path) -> None:
        (repo / "test_tipc/prepare.sh").unlink()
        seen: list[tuple[Path, str, Path]] = []

        def hook(config_path: Path, mode: str, root: Path) -> None:
            seen.append((config_path, mode, root))

        assert prepare(repo, hook=hook).startswith("ran the pytest_tipc_prepare hook")
        assert prepare(repo, hook=hook) == "cached"
        assert seen == [(repo / CONFIG, "lite_train_lite_infer", repo)]
        prepare(repo, session="s2", hook=hook)
        assert len(seen) == 2

    def test_nothing_to_prepare(self, repo: Path) -> None:
        (repo / "test_tipc/prepare.sh").unlink()
        assert prepare(repo) == "nothing to prepare"


def test_a_cached_preparation_runs_again_when_its_output_is_gone(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    script = root / "test_tipc" / "prepare.sh"
    script.parent.mkdir(parents=True)
    script.write_text('mkdir -p lite_data && echo x >> lite_data/runs && echo ran >> prepare_runs\n')
    config = root / "test_tipc" / "configs" / "m" / "train_infer_python.txt"
    config.parent.mkdir(parents=True)
    config.write_text("model_name:m\n")
    cache = tmp_path / "cache"

    def prepare(session: str) -> str:
        return prepare_data(config, "lite_train_lite_infer", root, state_dir=tmp_path / session,
                            cache_dir=cache, log_dir=tmp_path / "logs", report=failures.prepare_report)

    assert prepare("s1").startswith("ran")
    assert prepare("s2") == "cached"  # a new session, same cache: not run again
    shutil.rmtree(root / "lite_data")
    assert prepare("s3").startswith("ran")  # its output was deleted: prepared again
    assert (root / "lite_data" / "runs").is_file()
    assert (root / "prepare_runs").read_text().split() == ["ran", "ran"]


class TestUnderControl:
    def test_the_ini_command_overrides_prepare_sh(self, repo: Path) -> None:
        (repo / "prep.py").write_text("open('declared.txt', 'w').write('yes')\n")
        assert prepare(repo, command=("python", "prep.py")) == "ran python prep.py"
        assert (repo / "declared.txt").read_text() == "yes" and calls(repo) == []

    def test_never_and_always(self, repo: Path) -> None:
        assert prepare(repo, policy="never") == "not prepared (--tipc-prepare=never)"
        assert calls(repo) == []
        assert prepare(repo).startswith("ran ")
        assert prepare(repo, session="s2") == "cached"
        assert prepare(repo, session="s3", policy="always").startswith("ran ")
        assert prepare(repo, session="s3", policy="always") == "cached"  # once per session
        assert len(calls(repo)) == 2

    def test_without_pytests_cache_the_stamp_is_in_the_output_dir(self, repo: Path) -> None:
        base = repo.parent
        out = repo / "test_tipc/output"

        def run(session: str) -> str:
            return prepare_data(repo / CONFIG, "lite_train_lite_infer", repo, state_dir=base / session, cache_dir=None,
                                log_dir=out, report=failures.prepare_report)

        assert run("s1").startswith("ran ")
        assert run("s2") == "cached"
        assert len(list((out / ".tipc-prepare").glob("*.json"))) == 1 and len(calls(repo)) == 1

    def test_stdin_is_closed(self, repo: Path) -> None:
        (repo / "test_tipc/prepare.sh").write_text('if read -r line; then echo "read $line"; else echo "eof"; fi\n')
        prepare(repo)
        log = repo / "test_tipc/output/prepare_m_train_infer_python_lite_train_lite_infer.log"
        assert log.read_text() == "eof\n"

    def test_the_steps_interpreter_comes_first_on_path(self, repo: Path, tmp_path: Path) -> None:
        (repo / "test_tipc/prepare.sh").write_text("command -v python\n")
        prepare(repo)
        log = repo / "test_tipc/output/prepare_m_train_infer_python_lite_train_lite_infer.log"
        assert log.read_text().strip() == os.path.join(os.path.dirname(sys.executable), "python")
        other = tmp_path / "other" / "python"
        other.parent.mkdir()
        other.write_text(f"#!/bin/sh\nexec {sys.executable} \"$@\"\n")
        other.chmod(0o755)
        prepare(repo, session="s2", policy="always", python=str(other))  # --tipc-python
        assert log.read_text().strip() == str(other)

    def test_a_failed_download_with_exit_0_warns_naming_the_line(self, repo: Path) -> None:
        (repo / "test_tipc/prepare.sh").write_text(
            "echo start\nwget -nc -T 5 -t 1 http://tipc-prepare-test.invalid/data.tar\nmkdir -p lite_data\n")
        log = repo / "test_tipc/output/prepare_m_train_infer_python_lite_train_lite_infer.log"
        with pytest.warns(PrepareWarning) as caught:
            assert prepare(repo).startswith("ran ")
        lines = log.read_text().splitlines()
        # wget says it twice: "Resolving … failed: Name or service not known." then "unable to resolve host"
        number, line = next((i, line) for i, line in enumerate(lines, 1)
                            if "Name or service not known" in line or "unable to resolve host" in line)
        assert len(caught) == 1
        assert f"{log}:{number}: {line.strip()}" in str(caught[0].message)
        assert "exited 0, but its log shows a failed download" in str(caught[0].message)
        assert (caught[0].filename, caught[0].lineno) == (str(log), number)  # the log's line, not engine.py
        with warnings.catch_warnings(record=True) as later:  # said once: not again when it is reused
            warnings.simplefilter("always")
            assert prepare(repo) == "cached" and prepare(repo, session="s2") == "cached"
        assert not [w for w in later if issubclass(w.category, PrepareWarning)]

    def test_a_failure_quotes_the_first_error_line(self, repo: Path) -> None:
        (repo / "test_tipc/prepare.sh").write_text(
            "echo one\necho two\necho 'unzip:  cannot find or open data.zip'\necho 'later error'\nexit 9\n")
        with pytest.raises(PrepareError) as failed:
            prepare(repo)
        log = repo / "test_tipc/output/prepare_m_train_infer_python_lite_train_lite_infer.log"
        first = str(failed.value).splitlines()[0]
        assert first == (f"data preparation for {repo / CONFIG} (lite_train_lite_infer) failed; first error at "
                         f"{log}:3: unzip:  cannot find or open data.zip")
        assert "step prepare failed with exit code 9" in str(failed.value)


ROWS = ("===========================train_params===========================\nmodel_name:m\npython:python\n"
        "gpu_list:0|0,1\n-o Global.epochs:lite_train_lite_infer=2\n")
READS_ROWS = 'model=$(sed -n 2p "$1")\nepochs=$(grep "Global.epochs" "$1")\n' + PREPARE_SH


class TestWhatItDependsOn:
    def test_an_edit_to_a_row_it_does_not_read_keeps_the_preparation(self, repo: Path) -> None:
        (repo / CONFIG).write_text(ROWS)
        (repo / "test_tipc/prepare.sh").write_text(READS_ROWS)
        assert prepare(repo).startswith("ran ")
        (repo / CONFIG).write_text(ROWS.replace("gpu_list:0|0,1", "gpu_list:-1"))  # no prepare.sh reads it
        assert prepare(repo, session="s2") == "cached"
        (repo / CONFIG).write_text(ROWS.replace("=2", "=3"))  # a row prepare.sh greps for
        assert prepare(repo, session="s3").startswith("ran ")
        (repo / CONFIG).write_text(ROWS.replace("model_name:m", "model_name:m2"))  # every prepare.sh reads it
        assert prepare(repo, session="s4").startswith("ran ")
        assert len(calls(repo)) == 3

    def test_rows_read_by_index_count(self, repo: Path) -> None:
        (repo / CONFIG).write_text(ROWS)
        (repo / "test_tipc/prepare.sh").write_text('IFS=$\'\\n\'\nlines=($(cat $1))\necho "${lines[3]}"\n' + PREPARE_SH)
        assert prepare(repo).startswith("ran ")
        (repo / CONFIG).write_text(ROWS.replace("gpu_list:0|0,1", "gpu_list:-1"))  # lines[3] is row 4
        assert prepare(repo, session="s2").startswith("ran ")


class TestTimeout:
    def test_a_timeout_is_reported_as_prepare(self, repo: Path) -> None:
        (repo / "test_tipc/prepare.sh").write_text("echo slow\nsleep 30\n")
        with pytest.raises(PrepareError, match=r"timed out after 1 s in step prepare"):
            prepare(repo, timeout=1)

    def test_the_engine_applies_the_default_timeout(self, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        assert DEFAULT_TIMEOUT == 1800  # documented in README.md (the options table)
        monkeypatch.setattr(engine_module, "DEFAULT_TIMEOUT", 1.0)
        (repo / "test_tipc/prepare.sh").write_text("sleep 30\n")
        engine = Engine(EngineSettings(state_dir=repo.parent / "state", cache_dir=repo.parent / "cache", gpus=()))
        with pytest.raises(PrepareError, match=r"timed out after 1 s in step prepare"):
            engine.prepare(repo / CONFIG, "lite_train_lite_infer", repo, JUDGE)


NOT_IDEMPOTENT = """\
mkdir -p ./test_tipc/data/
cd ./test_tipc/data/ && if [ -e mini_supervisely ]; then
  echo 'replace mini_supervisely/a.png? [y]es, [n]o, [A]ll, [N]one, [r]ename:  NULL'
  echo '(EOF or read error, treating as "[N]one" ...)'; exit 1
fi && mkdir mini_supervisely && touch mini_supervisely/a.png && cd -
mkdir -p pretrained && touch pretrained/model.pdparams
"""


def test_a_failure_after_an_earlier_run_says_what_to_remove(repo: Path) -> None:
    """PaddleSeg's prepare.sh: unzip's overwrite prompt reads end-of-file the second time."""
    (repo / "test_tipc/prepare.sh").write_text(NOT_IDEMPOTENT)
    assert prepare(repo).startswith("ran ")
    with pytest.raises(PrepareError) as failed:
        prepare(repo, session="s2", policy="always")
    text = str(failed.value)
    log = repo / "test_tipc/output/prepare_m_train_infer_python_lite_train_lite_infer.log"
    assert f"its log shows a prompt that read end-of-file at {log}:1: replace mini_supervisely/a.png?" in text
    assert f"Fix: remove what it made, from {repo}: rm -rf pretrained test_tipc/data " in text
    assert "--tipc-prepare never" in text
    assert (repo / "test_tipc/data/mini_supervisely/a.png").exists()  # nothing removed by the plugin


class TestTheIniCommand:
    """``tipc_prepare_command`` names the command; ``tipc_prepare``, its older name, reads like
    ``--tipc-prepare`` (the policy), so a policy word there is refused, not run as a command."""

    COMMAND = "python prep.py {config} {mode}"

    def settings_of(self, pytester: pytest.Pytester, ini: str) -> tuple[str, ...]:
        pytester.makeini(f"[pytest]\n{ini}\n")
        return read_settings(pytester.parseconfigure()).prepare

    def test_both_names_give_the_command_word_by_word(self, pytester: pytest.Pytester) -> None:
        words = ("python", "prep.py", "{config}", "{mode}")
        assert self.settings_of(pytester, f"tipc_prepare_command = {self.COMMAND}") == words
        assert self.settings_of(pytester, f"tipc_prepare = {self.COMMAND}") == words
        assert self.settings_of(pytester, "tipc_prepare_policy = never") == ()

    def test_a_policy_word_in_tipc_prepare_is_a_usage_error_naming_the_policy_option(
            self, pytester: pytest.Pytester) -> None:
        pytester.makeini("[pytest]\ntipc_prepare = never\n")
        result = pytester.runpytest("--tipc-config", "nothing", "--collect-only")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        err = result.stderr.str()
        assert "ini option tipc_prepare = never in " in err and str(pytester.path / "tox.ini") in err
        assert "tipc_prepare_policy = never" in err and "--tipc-prepare never" in err

    def test_setting_both_names_is_a_usage_error(self, pytester: pytest.Pytester) -> None:
        pytester.makeini(f"[pytest]\ntipc_prepare_command = {self.COMMAND}\ntipc_prepare = python other.py\n")
        result = pytester.runpytest("--tipc-config", "nothing", "--collect-only")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        assert "tipc_prepare_command and tipc_prepare in " in result.stderr.str()

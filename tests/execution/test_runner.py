"""Running one step for real: argv without a shell, env, logs, timeouts that kill whole trees,
artifacts, interpreter resolution and the failure report."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from pytest_tipc._fs import tail_lines
from pytest_tipc.execution.step.runner import _await_exit, run_step
from pytest_tipc.model.cells import Expect, PathChoice, Step
from pytest_tipc.verdicts import failures
from tests.support.process_probe import default_signals

PY = sys.executable


def _has_pidfd() -> bool:
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):
        return False
    return True


def script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body))
    return path


class TestCommand:
    def test_shell_syntax_arrives_as_literal_args(self, tmp_path: Path) -> None:
        script(tmp_path / "echo_args.py", "import sys; print(sys.argv[1:])\n")
        step = Step("train", (PY, "echo_args.py", "; touch PWNED", "$(touch PWNED2)", "`touch PWNED3`", ">", "out"),
                    log="log/train.log")
        result = run_step(step, tmp_path)
        assert result.ok, failures.report(result)
        assert not list(tmp_path.glob("PWNED*")) and not (tmp_path / "out").exists()
        assert "['; touch PWNED', '$(touch PWNED2)', '`touch PWNED3`', '>', 'out']" in result.tail()

    def test_cwd_env_and_log(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TIPC_DROP_ME", "1")
        script(tmp_path / "deploy" / "show.py", """\
            import os, sys
            print("cwd", os.getcwd())
            print("cuda", os.environ.get("CUDA_VISIBLE_DEVICES"))
            print("drop", os.environ.get("TIPC_DROP_ME"), "extra", os.environ.get("EXTRA"))
            print("to stderr", file=sys.stderr)
        """)
        step = Step("infer", (PY, "show.py"), cwd="deploy",
                    env=(("CUDA_VISIBLE_DEVICES", "3"), ("TIPC_DROP_ME", None)), log="out/m/mode/infer.log")
        result = run_step(step, tmp_path, env=[("EXTRA", "x")])
        assert result.ok
        assert result.log_path == tmp_path / "out/m/mode/infer.log"
        log = result.log_path.read_text()
        assert f"cwd {tmp_path / 'deploy'}" in log
        assert "cuda 3" in log and "drop None extra x" in log and "to stderr" in log
        assert result.cuda_visible_devices == "3"
        assert dict(result.env) == {"CUDA_VISIBLE_DEVICES": "3", "TIPC_DROP_ME": None, "EXTRA": "x"}

    def test_stream_shows_live_output_and_keeps_the_log(self, tmp_path: Path) -> None:
        stream = io.StringIO()
        step = Step("train", (PY, "-c", "print('epoch 1 loss 0.5')"), log="train.log")
        result = run_step(step, tmp_path, stream=stream)
        assert result.ok
        assert "epoch 1 loss 0.5" in stream.getvalue()
        assert "epoch 1 loss 0.5" in result.log_path.read_text()
        assert ("PYTHONUNBUFFERED", "1") in result.env

    def test_path_choice_prefers_an_existing_path(self, tmp_path: Path) -> None:
        choice = PathChoice(preferred="./out/best_model/model", fallback="./out/latest")
        step = Step("eval", (PY, "-c", "import sys; print(sys.argv[1])", "Global.checkpoints=./out/latest"),
                    log="eval.log", choices=(choice,))
        assert "Global.checkpoints=./out/latest" in run_step(step, tmp_path).tail()
        (tmp_path / "out/best_model").mkdir(parents=True)
        (tmp_path / "out/best_model/model").write_text("")
        result = run_step(step, tmp_path)
        assert result.argv[-1] == "Global.checkpoints=./out/best_model/model"


class TestInterpreter:
    def test_missing_interpreter_falls_back_to_sys_executable(self, tmp_path: Path) -> None:
        step = Step("train", ("python2.9", "-c", "import sys; print(sys.version_info[0])"), log="t.log")
        result = run_step(step, tmp_path)
        assert result.ok
        assert result.argv[0] == sys.executable
        log = result.log_path.read_text().splitlines()
        assert log[0].startswith("[tipc] python2.9 is not on PATH; running") and log[1] == "3"

    def test_the_lookup_is_done_once_per_name_and_path(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        from pytest_tipc.execution.step import interpreter

        looked_up: list[str] = []
        real_which = interpreter.shutil.which

        def which(name: str, path: str | None = None) -> str | None:
            looked_up.append(name)
            return real_which(name, path=path)

        monkeypatch.setattr(interpreter.shutil, "which", which)
        env = {"PATH": str(tmp_path / "bin")}
        first = interpreter.resolve("python2.9", env)
        assert interpreter.resolve("python2.9", env) == first and looked_up == ["python2.9"]
        assert first.argv0 == sys.executable and "is not on PATH" in first.note
        interpreter.resolve("python2.9", {"PATH": str(tmp_path / "other")})
        assert looked_up == ["python2.9", "python2.9"]

    def test_broken_shim_on_path_falls_back(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        shim = script(tmp_path / "bin" / "python3.77", "#!/bin/sh\necho 'pyenv: python3.77: command not found' >&2\nexit 127\n")
        shim.chmod(0o755)
        monkeypatch.setenv("PATH", f"{shim.parent}{os.pathsep}{os.environ['PATH']}")
        result = run_step(Step("train", ("python3.77", "-c", "print('ran')"), log="t.log"), tmp_path)
        assert result.ok and result.argv[0] == sys.executable
        assert "does not start: exit 127 (pyenv: python3.77: command not found)" in result.notes[0]

    def test_override_replaces_the_interpreter(self, tmp_path: Path) -> None:
        fake = script(tmp_path / "fakepy", f"#!{sys.executable}\nimport sys; print('fake', sys.argv[1:])\n")
        fake.chmod(0o755)
        result = run_step(Step("train", ("python3.7", "train.py", "-o", "a=1"), log="t.log"), tmp_path,
                          python=str(fake))
        assert result.ok and result.argv[0] == str(fake)
        assert "fake ['train.py', '-o', 'a=1']" in result.tail()

    def test_a_path_interpreter_that_does_not_exist_cannot_start(self, tmp_path: Path) -> None:
        result = run_step(Step("train", ("./no/such/python", "x.py"), log="t.log"), tmp_path)
        assert not result.ok and result.rc is None
        assert "could not start" in failures.report(result)
        assert "No such file" in result.tail()


class TestTimeout:
    def test_hung_step_is_killed_with_its_whole_tree(self, tmp_path: Path) -> None:
        pids = tmp_path / "pids.txt"
        script(tmp_path / "hang.py", f"""\
            import subprocess, sys, time
            sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
            kids = [subprocess.Popen(sleeper),                          # same group
                    subprocess.Popen(sleeper, start_new_session=True)]  # own session (launch workers)
            # an orphan: its parent exits at once and it is re-parented to init
            middle = subprocess.run([sys.executable, "-c",
                "import subprocess as s; print(s.Popen({{!r}}, stdout=s.DEVNULL, stderr=s.DEVNULL, "
                "start_new_session=True).pid)".format(sleeper)],
                capture_output=True, text=True)
            with open({str(pids)!r}, "w") as fh:
                fh.write(" ".join(str(p) for p in [k.pid for k in kids] + [int(middle.stdout)]))
            for i in range(5):
                print("iteration", i, flush=True)
            time.sleep(120)
        """)
        step = Step("train", (PY, "hang.py"), log="out/train.log")
        started = time.monotonic()
        result = run_step(step, tmp_path, timeout=3)
        elapsed = time.monotonic() - started
        assert result.timed_out and not result.ok
        assert elapsed < 3 + 2, elapsed
        descendants = [int(p) for p in pids.read_text().split()]
        assert len(descendants) == 3
        survivors = []
        for pid in descendants:
            try:
                proc = psutil.Process(pid)
                if proc.status() != psutil.STATUS_ZOMBIE:
                    survivors.append(proc)
            except psutil.NoSuchProcess:
                pass
        assert survivors == []
        report = failures.report(result)
        assert report.splitlines()[0] == "timed out after 3 s in step train; its process tree was killed"
        assert "iteration 4" in report and f"log: {tmp_path / 'out/train.log'}" in report


    def test_a_step_that_exits_is_not_held_until_its_timeout(self, tmp_path: Path) -> None:
        started = time.monotonic()
        result = run_step(Step("infer", (PY, "-c", "print('done')"), log="t.log"), tmp_path, timeout=600)
        assert result.ok and not result.timed_out and "done" in result.tail()
        assert time.monotonic() - started < 60

    @pytest.mark.skipif(not _has_pidfd(), reason="no pidfd on this system (Popen.wait polls instead)")
    def test_waiting_with_a_timeout_wakes_on_exit_not_by_polling(self) -> None:
        quick = subprocess.Popen([PY, "-c", "pass"])
        _await_exit(quick, 600)
        assert quick.poll() == 0  # it exited; _await_exit returned because of that
        slow = subprocess.Popen([PY, "-c", "import time; time.sleep(60)"])
        started = time.monotonic()
        _await_exit(slow, 0.3)
        elapsed = time.monotonic() - started
        try:
            assert slow.poll() is None and 0.25 <= elapsed < 30, elapsed
        finally:
            slow.kill()
            slow.wait()

    @pytest.mark.parametrize("timeout", [None, 600.0], ids=["no-timeout", "with-timeout"])
    def test_an_interrupt_kills_the_tree_too(self, tmp_path: Path, timeout: float | None) -> None:
        script(tmp_path / "hang.py", f"""\
            import subprocess, sys, time
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
            open({str(tmp_path / 'pid.txt')!r}, "w").write(str(child.pid))
            time.sleep(120)
        """)
        driver = script(tmp_path / "driver.py", f"""\
            import os, signal, threading, time
            from pathlib import Path
            from pytest_tipc.model.cells import Step
            from pytest_tipc.execution.step.runner import run_step
            pid_file = Path({str(tmp_path / 'pid.txt')!r})
            def interrupt():
                while not pid_file.exists():
                    time.sleep(0.05)
                os.kill(os.getpid(), signal.SIGINT)
            threading.Thread(target=interrupt, daemon=True).start()
            try:
                run_step(Step("train", ({PY!r}, "hang.py"), log="t.log"), Path({str(tmp_path)!r}),
                         timeout={timeout!r})
            except KeyboardInterrupt:
                print("interrupted")
        """)
        done = subprocess.run([PY, str(driver)], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
                              preexec_fn=default_signals)
        assert done.stdout.strip() == "interrupted", done.stderr
        pid = int((tmp_path / "pid.txt").read_text())
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


class TestVerdict:
    def test_failure_report(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
        script(tmp_path / "fail.py", "for i in range(80):\n    print('line', i)\nraise SystemExit(3)\n")
        step = Step("eval", (PY, "fail.py", "-o", "Global.x=1"), env=(("CUDA_VISIBLE_DEVICES", "0"), ("FLAGS_x", "1")),
                    log="out/eval.log")
        result = run_step(step, tmp_path)
        assert result.rc == 3 and not result.ok
        report = failures.report(result)
        lines = report.splitlines()
        assert lines[0] == "step eval failed with exit code 3"
        assert f"command: {PY} fail.py -o Global.x=1" in lines
        assert f"cwd: {tmp_path}" in lines
        assert "env: CUDA_VISIBLE_DEVICES=0 FLAGS_x=1" in lines
        assert "exit code: 3" in lines
        tail = lines[lines.index(f"----- last 50 lines of {tmp_path / 'out/eval.log'} -----") + 1:]
        assert tail == [f"line {i}" for i in range(30, 80)]

    def test_missing_artifacts_fail_a_clean_exit(self, tmp_path: Path) -> None:
        expects = (Expect("file", "out/latest", (".pdparams", "")), Expect("inference_model", "out/inference"))
        step = Step("export", (PY, "-c", "pass"), log="export.log", expects=expects)
        result = run_step(step, tmp_path)
        assert result.rc == 0 and not result.ok
        assert result.missing == ("file out/latest{.pdparams|}",
                                  "inference model out/inference (<name>.pdiparams with <name>.json or <name>.pdmodel)")
        (tmp_path / "out/inference").mkdir(parents=True)
        for name in ("latest.pdparams", "inference/inference.pdiparams", "inference/inference.json"):
            (tmp_path / "out" / name).write_text("")
        assert run_step(step, tmp_path).ok

    def test_inference_model_by_stem(self, tmp_path: Path) -> None:
        (tmp_path / "out").mkdir()
        (tmp_path / "out/model.pdiparams").write_text("")
        step = Step("export", (PY, "-c", "pass"), log="e.log", expects=(Expect("inference_model", "out/model"),))
        assert not run_step(step, tmp_path).ok
        (tmp_path / "out/model.pdmodel").write_text("")
        assert run_step(step, tmp_path).ok


def test_tail_lines(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("".join(f"{i}\n" for i in range(100_000)))
    assert tail_lines(log, 3) == "99997\n99998\n99999"
    assert tail_lines(tmp_path / "missing.log", 3) == ""

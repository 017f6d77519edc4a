"""tipc_autolog.logger: the AutoLog 1.2.0 block, line by line, and a logger that leaves nothing behind."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
import textwrap
import threading
import types
from pathlib import Path

import pytest

from tipc_autolog import logger as autolog
from tipc_autolog import sysinfo
from tipc_autolog.logger import BANNERS, Times, TipcAutoLogger, format_report, resolve_autologger

# The block auto_log 1.2.0's AutoLogger.report() logs, derived from its source
# (LDOUBLEV/AutoLog auto_log/autolog.py: one self.logger.info(...) per line, the f-strings
# "{identifier} key: value" with an empty identifier, the banners as literal strings) for the
# values of the AutoLog inference-doc demo; the logger's "[<asctime>] " prefix is stripped.
# Line 1 is logger.info("\n"): the prefix, then a blank line.
REFERENCE_BLOCK = "root INFO: \n" + """
root INFO: ---------------------- Env info ----------------------
root INFO:  OS_version: Ubuntu 16.04
root INFO:  CUDA_version: 10.2.89
root INFO:  CUDNN_version: 7.6.5
root INFO:  drivier_version: 440.33.01
root INFO: ---------------------- Paddle info ----------------------
root INFO:  paddle_version: 2.2.2
root INFO:  paddle_commit: aff7397bbf2290c8cdff2e2b2202cbb286d3ae93
root INFO:  log_api_version: 1.0
root INFO: ----------------------- Conf info -----------------------
root INFO:  runtime_device: cpu
root INFO:  ir_optim: True
root INFO:  enable_memory_optim: True
root INFO:  enable_tensorrt: False
root INFO:  enable_mkldnn: False
root INFO:  cpu_math_library_num_threads: 1
root INFO: ----------------------- Model info ----------------------
root INFO:  model_name: classification
root INFO:  precision: fp32
root INFO: ----------------------- Data info -----------------------
root INFO:  batch_size: 1
root INFO:  input_shape: dynamic
root INFO:  data_num: 1
root INFO: ----------------------- Perf info -----------------------
root INFO:  cpu_rss(MB): 717.3633, gpu_rss(MB): None, gpu_util: None%
root INFO:  total time spent(s): 0.3135
root INFO:  preprocess_time(ms): 47.2865, inference_time(ms): 266.1366, postprocess_time(ms): 0.061
"""

DEMO_ENV = {"os_info": "Ubuntu 16.04", "cuda_version": "10.2.89", "cudnn_version": "7.6.5",
            "nvidia_driver_version": "440.33.01"}
PREFIX = re.compile(r"^\[\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\] ")


@pytest.fixture
def demo_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fixed machine facts, so the block is deterministic on any box."""
    monkeypatch.setattr(autolog, "env_info", lambda: dict(DEMO_ENV))
    monkeypatch.setattr(autolog, "paddle_info", lambda: ("2.2.2", "aff7397bbf2290c8cdff2e2b2202cbb286d3ae93"))
    monkeypatch.setattr(sysinfo, "cpu_rss_mb", lambda pid: 717.3633)
    monkeypatch.setattr(sysinfo, "gpu_stats", lambda gpu_id: None)


def demo_times(logger: TipcAutoLogger) -> None:
    """One image: 47.2865 ms, 266.1366 ms, 0.061 ms; 0.3135 s in all (set, not measured)."""
    logger.times.times = {"preprocess_time": [0.0472865], "inference_time": [0.2661366],
                          "postprocess_time": [0.000061]}
    logger.times.total_time = [0.3135]


def strip_prefix(text: str) -> str:
    lines = text.split("\n")
    assert all(PREFIX.match(line) for line in lines if line.strip()), text
    return "\n".join(PREFIX.sub("", line) for line in lines)


def sampler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "autolog-sampler"]


class TestReportFormat:
    def test_block_matches_upstream_line_by_line(self, demo_env: None, capsys: pytest.CaptureFixture[str]) -> None:
        logger = TipcAutoLogger("classification", model_precision="fp32", batch_size=1,
                                inference_config={"runtime_device": "cpu", "ir_optim": True,
                                                  "enable_tensorrt": False, "enable_mkldnn": False,
                                                  "cpu_math_library_num_threads": 1})
        demo_times(logger)
        logger.report()
        got = strip_prefix(capsys.readouterr().out).split("\n")
        want = REFERENCE_BLOCK.split("\n")
        for number, (g, w) in enumerate(zip(got, want), start=1):
            assert g == w, f"line {number}"
        assert len(got) == len(want)

    def test_banners_keep_upstream_dash_counts(self) -> None:
        assert [(len(b), b.index(" "), len(b) - b.rindex(" ") - 1) for b in BANNERS.values()] == [
            (54, 22, 22), (57, 22, 22), (57, 23, 23), (57, 23, 22), (57, 23, 23), (57, 23, 23)]

    def test_identifier_prefixes_every_value_line_but_not_banners(self) -> None:
        values = {k: "v" for k in ("os_info", "cuda_version", "cudnn_version", "nvidia_driver_version",
                                   "paddle_version", "paddle_commit", "log_api_version", "runtime_device",
                                   "ir_optim", "enable_tensorrt", "enable_mkldnn", "cpu_math_library_num_threads",
                                   "model_name", "precision", "batch_size", "input_shape", "data_num", "cpu_rss_mb",
                                   "gpu_rss_mb", "gpu_util", "total_time_s", "preprocess_time_ms",
                                   "inference_time_ms", "postprocess_time_ms")}
        lines = format_report(values, identifier="det")
        assert lines[0] == "\n"
        assert lines[2] == "[det] OS_version: v"
        assert lines[5] == "[det] drivier_version: v"
        assert lines[13] == "[det] enable_memory_optim: True"
        assert lines[1] == BANNERS["env"] and lines[-4] == BANNERS["perf"]
        assert len(lines) == 28

    def test_no_inference_config_prints_None_and_keeps_precision(
            self, demo_env: None, capsys: pytest.CaptureFixture[str]) -> None:
        logger = TipcAutoLogger("m", model_precision="int8", batch_size=4, data_shape="3,224,224")
        demo_times(logger)
        logger.report()
        out = strip_prefix(capsys.readouterr().out)
        for line in ("root INFO:  runtime_device: None", "root INFO:  ir_optim: None",
                     "root INFO:  enable_memory_optim: True", "root INFO:  cpu_math_library_num_threads: None",
                     "root INFO:  precision: int8", "root INFO:  batch_size: 4",
                     "root INFO:  input_shape: 3,224,224"):
            assert line in out.split("\n")

    def test_dict_config_missing_keys_print_None(self, demo_env: None, capsys: pytest.CaptureFixture[str]) -> None:
        logger = TipcAutoLogger("m", inference_config={"runtime_device": "gpu", "enable_tensorrt": True})
        demo_times(logger)
        logger.report()
        out = strip_prefix(capsys.readouterr().out).split("\n")
        assert "root INFO:  runtime_device: gpu" in out
        assert "root INFO:  enable_tensorrt: True" in out
        assert "root INFO:  enable_mkldnn: None" in out

    def test_paddle_inference_config(self, demo_env: None, capsys: pytest.CaptureFixture[str]) -> None:
        paddle = pytest.importorskip("paddle")
        config = paddle.inference.Config()
        config.disable_gpu()
        config.set_cpu_math_library_num_threads(3)
        logger = TipcAutoLogger("m", inference_config=config)
        demo_times(logger)
        logger.report()
        out = strip_prefix(capsys.readouterr().out).split("\n")
        assert "root INFO:  runtime_device: cpu" in out
        assert "root INFO:  cpu_math_library_num_threads: 3" in out
        assert f"root INFO:  enable_mkldnn: {config.mkldnn_enabled()}" in out

    def test_given_logger_gets_the_messages(self, demo_env: None) -> None:
        stream = io.StringIO()
        logger = logging.getLogger("ppocr-test")
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(name)s %(levelname)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            auto = TipcAutoLogger("det", logger=logger)
            demo_times(auto)
            auto.report(identifier="det")
        finally:
            logger.removeHandler(handler)
        lines = stream.getvalue().split("\n")
        assert "ppocr-test INFO: [det] model_name: det" in lines
        assert "ppocr-test INFO: ---------------------- Env info ----------------------" in lines

    def test_save_path_gets_the_same_block(self, demo_env: None, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
        target = tmp_path / "logs" / "bench.log"
        auto = TipcAutoLogger("m", save_path=target)
        demo_times(auto)
        auto.report()
        auto.close()
        assert strip_prefix(target.read_text()) == strip_prefix(capsys.readouterr().out)

    def test_report_returns_what_it_printed(self, demo_env: None, capsys: pytest.CaptureFixture[str]) -> None:
        auto = TipcAutoLogger("m")
        demo_times(auto)
        values = auto.report()
        capsys.readouterr()
        assert values["preprocess_time_ms"] == 47.2865
        assert values["total_time_s"] == 0.3135
        assert values["cpu_rss_mb"] == 717.3633
        assert values["gpu_rss_mb"] is None and values["data_num"] == 1


class TestTimes:
    def test_stamps_cycle_through_keys_and_extra_stamps_add_keys(self) -> None:
        times = Times()
        for _ in range(2):
            times.start()
            times.stamp()
            times.stamp()
            times.stamp()
            times.end(stamp=True)  # a 4th stamp: upstream names it stamps_4
        assert times.keys == ["preprocess_time", "inference_time", "postprocess_time", "stamps_4"]
        assert [len(times.times[k]) for k in times.keys] == [2, 2, 2, 2]
        assert times._num_counts() == 2
        total = times._report_total_time(mode="sum")
        assert total == pytest.approx(sum(sum(v) for v in times.times.values()))

    def test_default_keys_are_not_shared_between_instances(self) -> None:
        first = Times()
        first.start()
        for _ in range(4):
            first.stamp()
        assert "stamps_4" not in Times().keys

    def test_warmup_is_skipped_and_too_few_samples_raise_like_upstream(self) -> None:
        times = Times(warmup=2)
        times.times["preprocess_time"] = [10.0, 10.0, 1.0, 3.0]
        assert times.mean(times.times["preprocess_time"]) == 2.0
        with pytest.raises(ValueError, match=r"^The number 2 of time stamps must be larger than warmup: 2$"):
            times.mean([1.0, 2.0])

    def test_report_without_samples_raises_but_stops_the_sampler(
            self, demo_env: None, capsys: pytest.CaptureFixture[str]) -> None:
        auto = TipcAutoLogger("m")
        with pytest.raises(ValueError, match="must be larger than warmup: 0"):
            auto.report()
        assert not auto._sampler.running

    def test_end_before_start(self) -> None:
        with pytest.raises(RuntimeError, match=r"Times.end\(\) called before Times.start\(\)"):
            Times().end()

    def test_real_timing(self, demo_env: None, capsys: pytest.CaptureFixture[str]) -> None:
        auto = TipcAutoLogger("m", warmup=1)
        for _ in range(3):
            auto.times.start()
            auto.times.stamp()
            auto.times.stamp()
            auto.times.end(stamp=True)
        values = auto.report()
        assert values["data_num"] == 3
        assert values["preprocess_time_ms"] >= 0 and values["total_time_s"] >= 0


class TestSampling:
    def test_report_stops_the_sampler_thread(self, demo_env: None, capsys: pytest.CaptureFixture[str]) -> None:
        auto = TipcAutoLogger("m")
        assert auto._sampler.running
        demo_times(auto)
        auto.report()
        assert not auto._sampler.running
        auto.close()
        auto.close()  # idempotent

    def test_an_unreported_logger_is_stopped_when_collected(self) -> None:
        before = len(sampler_threads())
        auto = TipcAutoLogger("m")
        sampler = auto._sampler
        del auto
        import gc

        gc.collect()
        assert not sampler.running
        assert len(sampler_threads()) == before

    def test_cpu_rss_is_a_running_pairwise_mean(self, monkeypatch: pytest.MonkeyPatch) -> None:
        samples = iter([100.0, 200.0, 300.0])
        monkeypatch.setattr(sysinfo, "cpu_rss_mb", lambda pid: next(samples))
        sampler = sysinfo.ResourceSampler([1], None)
        for _ in range(3):
            sampler.sample()
        assert sampler.stop() == (225.0, None, None)  # ((100+200)/2 + 300) / 2

    def test_real_rss_of_this_process(self) -> None:
        rss = sysinfo.cpu_rss_mb(os.getpid())
        assert rss is not None and rss > 1
        assert rss == round(rss, 4)

    def test_gpu_ids(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,4")
        assert autolog.resolve_gpu_id("auto") == 3
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
        assert autolog.resolve_gpu_id("auto") == 0
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
        assert autolog.resolve_gpu_id("auto") is None
        assert autolog.resolve_gpu_id(None) is None
        assert autolog.resolve_gpu_id(2) == 2
        assert autolog.resolve_gpu_id([1, 0]) == 1


def fake_tool(directory: Path, name: str, output: str) -> None:
    script = directory / name
    assert "'" not in output
    script.write_text(f"#!/bin/sh\necho '{output}'\n")
    script.chmod(0o755)


@pytest.mark.skipif(sys.platform == "win32", reason="shell-script fakes")
class TestProbes:
    def test_gpu_stats_from_nvidia_smi(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
        fake_tool(tmp_path, "nvidia-smi",
                  "0, GPU-aaa, Tesla V100, 2022/04/13 11:43:09.000, 16160, 7318, 8842, 35, 20\n"
                  "1, GPU-bbb, Tesla V100, 2022/04/13 11:43:09.000, 16160, 16150, 10, 0, 0")
        monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
        assert sysinfo.gpu_stats(0) == (8842.0, 35.0)
        assert sysinfo.gpu_stats(1) == (10.0, 0.0)
        assert sysinfo.gpu_stats(2) is None
        monkeypatch.setattr(autolog, "env_info", lambda: dict(DEMO_ENV))
        auto = TipcAutoLogger("m", gpu_ids=0)
        demo_times(auto)
        auto.report()
        assert "gpu_rss(MB): 8842.0, gpu_util: 35.0%" in capsys.readouterr().out

    def test_gpu_stats_without_nvidia_smi_are_None(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
        monkeypatch.setenv("PATH", str(tmp_path))
        monkeypatch.setattr(autolog, "paddle_info", lambda: (None, None))
        assert sysinfo.gpu_stats(0) is None
        assert sysinfo.driver_version() is None and sysinfo.cuda_version() is None
        auto = TipcAutoLogger("m", gpu_ids="auto")
        demo_times(auto)
        auto.report()
        out = capsys.readouterr().out
        assert "gpu_rss(MB): None, gpu_util: None%" in out
        assert " CUDA_version: None\n" in out and " drivier_version: None\n" in out
        assert " paddle_version: None\n" in out

    def test_cuda_version_keeps_the_build_line_like_upstream(self, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
        fake_tool(tmp_path, "nvcc", "nvcc: NVIDIA (R) Cuda compiler driver\n"
                                    "Cuda compilation tools, release 11.2, V11.2.67\n"
                                    "Build cuda_11.2.r11.2/compiler.29373293_0")
        fake_tool(tmp_path, "nvidia-smi", "| NVIDIA-SMI 460.27.04    Driver Version: 460.27.04    CUDA Version: 11.2 |")
        monkeypatch.setenv("PATH", str(tmp_path))
        assert sysinfo.cuda_version() == "11.2.67\nBuild cuda_11.2.r11.2/compiler.29373293_0"
        assert sysinfo.driver_version() == "460.27.04"

    def test_os_info(self) -> None:
        name = sysinfo.os_info()
        assert name.strip() and (name != "None None" or not sys.platform.startswith("linux"))


class TestShim:
    def test_builtin_forced(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(sys.modules, "auto_log", types.SimpleNamespace(AutoLogger=object))
        monkeypatch.setenv(autolog.ENV_VAR, "builtin")
        assert resolve_autologger() is TipcAutoLogger
        assert autolog.IMPLEMENTATION == "builtin"

    def test_real_auto_log_preferred_when_installed(self, monkeypatch: pytest.MonkeyPatch) -> None:
        class Real:
            pass

        monkeypatch.setitem(sys.modules, "auto_log", types.SimpleNamespace(AutoLogger=Real))
        monkeypatch.delenv(autolog.ENV_VAR, raising=False)
        assert resolve_autologger() is Real
        assert autolog.IMPLEMENTATION == "auto_log"
        assert resolve_autologger("builtin") is TipcAutoLogger

    def test_missing_auto_log(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(sys.modules, "auto_log", None)  # import auto_log raises ImportError
        assert resolve_autologger("auto") is TipcAutoLogger
        with pytest.raises(ImportError):
            resolve_autologger("auto_log")

    def test_bad_choice(self) -> None:
        with pytest.raises(ValueError, match=r"PYTEST_TIPC_AUTOLOG='x': expected auto, builtin or auto_log"):
            resolve_autologger("x")

    def test_module_attribute_is_resolved_lazily(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delitem(autolog.__dict__, "AutoLogger", raising=False)
        monkeypatch.setenv(autolog.ENV_VAR, "builtin")
        from tipc_autolog.logger import AutoLogger

        assert AutoLogger is TipcAutoLogger
        monkeypatch.delitem(autolog.__dict__, "AutoLogger", raising=False)


def test_script_without_report_exits_and_leaves_no_process(tmp_path: Path) -> None:
    """An inference script that never calls report(): the sampler is a thread, not a child
    process, and the script still exits at once."""
    script = tmp_path / "infer.py"
    script.write_text(textwrap.dedent("""
        import psutil
        from tipc_autolog.logger import AutoLogger
        auto = AutoLogger("m", gpu_ids=None)
        auto.times.start(); auto.times.stamp(); auto.times.end(stamp=True)
        print("children", len(psutil.Process().children(recursive=True)), type(auto).__name__)
    """))
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTEST_TIPC_AUTOLOG": "builtin",
           "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["children", "0", "TipcAutoLogger"]

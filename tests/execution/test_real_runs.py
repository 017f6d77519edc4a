"""Real runs through the plugin (pytester), with a small script standing in for the model repo."""

# ruff: noqa: F811 - the `repo` fixture is imported from tests.support.tiny_repo and used as an argument

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support.tiny_repo import EIGHT, OUT, config, repo, run  # noqa: F401 - repo: the fixture

pytest_plugins = ["pytester"]

def counts(repo: pytest.Pytester) -> list[str]:
    path = repo.path / "counts.txt"
    return path.read_text().split() if path.exists() else []


class TestTrainOnce:
    def test_shared_train_cell_runs_once_under_xdist(self, repo: pytest.Pytester) -> None:
        pytest.importorskip("xdist")
        cfg = config(repo, EIGHT)
        result = run(repo, cfg, "-n", "3", "-p", "xdist", subprocess=True)
        result.assert_outcomes(passed=9)
        stages = counts(repo)
        assert stages.count("train") == 1 and stages.count("export") == 1
        assert stages.count("infer") == 8

    def test_selecting_one_infer_item_runs_only_its_training(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, EIGHT)
        result = run(repo, cfg, "-k", "infer and mkldnn and t2 and bs2")
        result.assert_outcomes(passed=1)
        assert counts(repo) == ["train", "export", "infer"]

    def test_failed_training_fails_its_infer_items_naming_the_log(self, repo: pytest.Pytester,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TOOL_FAIL", "train")
        cfg = config(repo, EIGHT)
        result = run(repo, cfg)
        result.assert_outcomes(failed=9)
        assert counts(repo) == ["train"]  # tried once, never retried by the infer items
        log = f"{OUT}/norm_train_gpus_-1_autocast_null.log"
        out = result.stdout.str()
        assert out.count("train[cpu-null-norm_train]") >= 8  # each infer item names the failed cell
        assert log in out and "exit code 3" in out
        assert "Traceback: simulated failure in train" in out  # the log tail
        assert (repo.path / log).is_file()  # the log of the failed step is kept


class TestExecution:
    def test_config_values_never_reach_a_shell(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, {16: "norm_train:tool.py train ; touch PWNED $(touch PWNED2)"})
        run(repo, cfg, "-m", "tipc(kind='train')")
        assert counts(repo) == ["train", "export"]
        assert not (repo.path / "PWNED").exists() and not (repo.path / "PWNED2").exists()

    def test_results_python_log_matches_the_harness(self, repo: pytest.Pytester,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TOOL_FAIL", "infer")
        cfg = config(repo)
        run(repo, cfg)
        lines = (repo.path / OUT / "results_python.log").read_text().splitlines()
        assert len(lines) == 3
        pattern = re.compile(r"^\x1b\[33m Run (successfully|failed) with command - python tool\.py \S+ .*!  \x1b\[0m$")
        assert all(pattern.match(line) for line in lines), lines
        assert [line.split()[2] for line in lines] == ["successfully", "successfully", "failed"]
        # the log names the train cell (other trainers cannot overwrite it), and the status line names
        # the file actually written (docs/deviations.md)
        written = "python_infer_cpu_usemkldnn_False_threads_1_precision_fp32_batchsize_1_cpu-null-norm_train.log"
        assert f"> ./{OUT}/{written} 2>&1" in lines[2]
        assert (repo.path / OUT / "python_infer_cpu_usemkldnn_False_threads_1_precision_fp32_batchsize_1_cpu-null-norm_train.log").is_file()

    def test_timeout_kills_the_step_and_says_so(self, repo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TOOL_HANG", "train")
        cfg = config(repo)
        result = run(repo, cfg, "-m", "tipc(kind='train')", "--tipc-stage-timeout", "train=3")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*timed out after 3*s in step train*"])

    def test_record_holds_the_commands_actually_run(self, repo: pytest.Pytester) -> None:
        cfg = config(repo)
        out = repo.path / "rec.jsonl"
        run(repo, cfg, "--tipc-record", str(out)).assert_outcomes(passed=2)
        recs = [json.loads(line) for line in out.read_text().splitlines()]
        assert [r["argv"][1:3] for r in recs] == [["tool.py", "train"], ["tool.py", "export"], ["tool.py", "infer"]]
        assert recs[0]["argv"][0] == Path(sys.executable).name


class TestVerdicts:
    def test_training_log_fields_are_checked(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, {16: "norm_train:tool.py infer-less"})  # prints nothing, writes nothing
        result = run(repo, cfg, "-m", "tipc(kind='train')")
        result.assert_outcomes(failed=1)

    def test_junit_carries_metrics_under_xdist(self, repo: pytest.Pytester) -> None:
        pytest.importorskip("xdist")
        cfg = config(repo, EIGHT)
        xml = repo.path / "junit.xml"
        run(repo, cfg, "-n", "2", "-p", "xdist", f"--junitxml={xml}", subprocess=True).assert_outcomes(passed=9)
        props: dict[str, dict[str, str]] = {}
        for case in ET.parse(xml).getroot().iter("testcase"):
            props[case.get("name", "")] = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        train = props["train[cpu-null-norm_train]"]
        assert float(train["tipc_final_loss"]) == pytest.approx(1 / 3, rel=1e-3)
        assert float(train["tipc_mean_ips"]) == pytest.approx(200.0)
        infer = props["infer[cpu-null-norm_train-cpu-mkldnn-t2-fp32-bs2]"]
        for name in ("tipc_preprocess_ms", "tipc_inference_ms", "tipc_postprocess_ms", "tipc_cpu_rss_mb"):
            assert float(infer[name]) >= 0.0

    def test_report_and_terminal_summary(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, {4: "gpu_list:-1|0", 5: "--use-gpu:False|True"})
        report = repo.path / "matrix.md"
        result = run(repo, cfg, f"--tipc-report={report}", "-rs", "-v")
        result.assert_outcomes(passed=2, skipped=2)  # the GPU train cell and its CPU infer cell
        text = report.read_text()
        assert "single-card" in text and "device_CPU" in text
        assert "passed" in text and "skipped" in text
        data = json.loads(report.with_suffix(".json").read_text())
        assert len(data["records"]) == 4
        result.stdout.fnmatch_lines(["  passed  train[[]cpu-null-norm_train[]]*loss 0.3333, ips 200*",
                                     "  skipped ×2: needs 1 GPU, 0 visible*"])  # the GPU cell and its infer cell


class TestStoredResults:
    """whole_infer against test_tipc/results/, with both update flags (those under -n 2: only the
    xdist controller writes)."""

    def setup_whole_infer(self, repo: pytest.Pytester) -> tuple[Path, Path]:
        model = repo.path / "pretrained" / "model"
        model.mkdir(parents=True)
        (model / "inference.json").write_text("{}")
        (model / "inference.pdiparams").write_bytes(b"p")
        cfg = config(repo, {42: "--enable-mkldnn:False|True"})
        results = repo.path / "test_tipc" / "results" / "python_tiny_results_fp32.txt"
        results.parent.mkdir(parents=True)
        results.write_text('img1.jpg\t{"class_ids": [1, 0], "scores": [0.5, 0.5]}\n'
                           'img2.jpg\t{"class_ids": [1, 0], "scores": [0.5, 0.5]}\n')
        return cfg, results

    def test_pass_fail_update(self, repo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
        pytest.importorskip("xdist")
        cfg, results = self.setup_whole_infer(repo)
        # Checking needs no workers: those sessions run in process; the updates, which only the
        # xdist controller may write, run under -n 2 (the costly part: a session of three processes).
        args = ("--tipc-mode", "whole_infer")
        workers = (*args, "-n", "2", "-p", "xdist")
        run(repo, cfg, *args).assert_outcomes(passed=3)

        monkeypatch.setenv("TOOL_SCORE", "0.6")
        failed = run(repo, cfg, *args)
        failed.assert_outcomes(passed=1, failed=2)
        failed.stdout.fnmatch_lines(["*img1.jpg*", "*--tipc-update*"])
        assert "test_tipc/results/python_tiny_results_fp32.txt" in failed.stdout.str()

        run(repo, cfg, *workers, "--tipc-update", subprocess=True).assert_outcomes(passed=1, failed=2)
        assert "0.6" in results.read_text()
        run(repo, cfg, *args).assert_outcomes(passed=3)

        monkeypatch.setenv("TOOL_SCORE", "0.7")
        run(repo, cfg, *workers, "--tipc-update-all", subprocess=True).assert_outcomes(passed=3)
        assert "0.7" in results.read_text()

    def test_missing_results_file_is_a_clear_failure(self, repo: pytest.Pytester) -> None:
        cfg, results = self.setup_whole_infer(repo)
        results.rename(results.with_name("python_tiny_results_fp16.txt"))
        result = run(repo, cfg, "--tipc-mode", "whole_infer")
        result.assert_outcomes(passed=1, failed=2)
        assert "python_tiny_results_fp32.txt" in result.stdout.str()
        assert "INTERNALERROR" not in result.stdout.str()


class TestWorkersAndStreaming:
    def test_n_auto_starts_one_worker_per_gpu(self, repo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
        pytest.importorskip("xdist")
        bin_dir = repo.path / "fakebin"
        bin_dir.mkdir()
        smi = bin_dir / "nvidia-smi"
        smi.write_text("#!/bin/sh\n" + "".join(f"echo 'GPU {i}: Fake GPU (UUID: GPU-{i})'\n" for i in range(3)))
        smi.chmod(0o755)
        monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
        cfg = config(repo, EIGHT)
        result = run(repo, cfg, "--tipc-dry-run", "-n", "auto", "-p", "xdist", subprocess=True)
        result.assert_outcomes(passed=9)
        result.stdout.fnmatch_lines(["*3 workers*"])

    def test_stream_shows_live_step_output(self, repo: pytest.Pytester) -> None:
        cfg = config(repo)
        result = run(repo, cfg, "--tipc-stream", "-m", "tipc(kind='train')", subprocess=True)
        result.assert_outcomes(passed=1)
        out = result.stdout.str()
        assert "[tipc] train[cpu-null-norm_train] train:" in out
        assert "[Epoch 0, iter: 2] loss: 0.33333" in out  # the training's own output, live

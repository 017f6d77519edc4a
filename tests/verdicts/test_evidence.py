"""What a verdict rests on: fresh artifacts only, evidence of inference and of eval, headlines with
the cause, known causes, the auto_log shim, every row checked, stored results that fit the step."""

# ruff: noqa: F811 - the `repo` fixture is imported from tests.support.tiny_repo and used as an argument

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from pytest_tipc.model.config import ConfigError, parse_file, parse_text
from pytest_tipc.planning.plan import validate
from pytest_tipc.verdicts import causes
from pytest_tipc.verdicts.results.compare import check_results
from pytest_tipc.verdicts.trainlog import summarize
from tests.support import tiny_repo
from tests.support.configs import t51_text
from tests.support.conformance import conformance_dir
from tests.support.tiny_repo import OUT, config, repo  # noqa: F401 - repo: the fixture

pytest_plugins = ["pytester"]
REPO = Path(__file__).resolve().parents[2]


def run(repo: pytest.Pytester, cfg: Path, *args: str) -> pytest.RunResult:
    return tiny_repo.run(repo, cfg, "-rA", *args)


def age_tree(root: Path, seconds: float) -> None:
    past = time.time() - seconds
    for base, _dirs, files in os.walk(root):
        for name in files:
            os.utime(os.path.join(base, name), (past, past))


class TestFreshEvidence:
    def test_train_that_writes_nothing_fails_on_old_artifacts(self, repo: pytest.Pytester) -> None:
        cfg = config(repo)
        assert run(repo, cfg).ret == 0
        age_tree(repo.path / OUT, 3 * 3600)  # what an earlier session left
        cfg.write_text(t51_text({16: "norm_train:tool.py noop"}))
        result = run(repo, cfg, "-o", "tipc_check_train_log=false")
        out = result.stdout.str()
        result.assert_outcomes(failed=2)  # the train item and the infer item that uses its model
        assert "exited 0 but did not leave a fresh file" in out
        assert "latest.pdparams is there, written 3.0 h before the step started" in out
        assert "ignored, not removed" in out
        assert list((repo.path / OUT).rglob("latest.pdparams"))  # never deleted

    def test_checkpoint_written_elsewhere_says_where(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, {11: "train_model_name:sub/latest"})
        result = run(repo, cfg)
        out = result.stdout.str()
        assert "known cause (checkpoint-elsewhere)" in out
        landed = next((repo.path / OUT).rglob("latest.pdparams"))
        assert f"{landed} exists" in out


class TestEvidenceOfInference:
    def test_infer_that_prints_nothing_fails(self, repo: pytest.Pytester) -> None:
        result = run(repo, config(repo, {40: "inference:tool.py noop"}))
        result.assert_outcomes(passed=1, failed=1)
        assert "step infer exited 0 but produced no inference output" in result.stdout.str()

    def test_infer_that_catches_paddle_75496_names_the_cause(self, repo: pytest.Pytester) -> None:
        (repo.path / "seg_infer.py").write_text(
            "print('[ERROR] Not find predictor_id 0 and pass_name memory_optimize_pass')\n")
        result = run(repo, config(repo, {40: "inference:seg_infer.py"}))
        result.assert_outcomes(passed=1, failed=1)
        out = result.stdout.str()
        assert "no inference output: Paddle#75496" in out
        assert "see: https://github.com/PaddlePaddle/Paddle/issues/75496" in out

    def test_results_python_log_carries_the_plugins_verdict(self, repo: pytest.Pytester) -> None:
        (repo.path / "seg_infer.py").write_text(
            "print('[ERROR] Not find predictor_id 0 and pass_name memory_optimize_pass')\n")  # exits 0
        run(repo, config(repo, {40: "inference:seg_infer.py"})).assert_outcomes(passed=1, failed=1)
        lines = (repo.path / OUT / "results_python.log").read_text().splitlines()
        infer = [line for line in lines if "seg_infer.py" in line]
        assert len(infer) == 1 and "Run failed with command" in infer[0], lines
        assert "[tipc] step infer exited 0 but produced no inference output: Paddle#75496" in infer[0]
        assert all("Run successfully" in line and "[tipc]" not in line for line in lines if line not in infer)

    def test_infer_that_imports_auto_log_gets_the_shim(self, repo: pytest.Pytester) -> None:
        (repo.path / "al_infer.py").write_text(
            "import auto_log\n"
            "log = auto_log.AutoLogger(model_name='t', model_precision='fp32', batch_size=1, data_shape='dynamic',"
            " save_path=None, inference_config=None, pids=None, process_name=None, gpu_ids=None,"
            " time_keys=['preprocess_time', 'inference_time', 'postprocess_time'], warmup=0)\n"
            "log.times.start(); log.times.stamp(); log.times.stamp(); log.times.end(stamp=True)\n"
            "print('img1.jpg\\t{\"class_ids\": [1]}')\nlog.report()\n")
        result = run(repo, config(repo, {40: "inference:al_infer.py"}))
        result.assert_outcomes(passed=2)

    def test_a_real_auto_log_wins(self, repo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
        real = repo.path / "site" / "auto_log"
        real.mkdir(parents=True)
        (real / "__init__.py").write_text("REAL = True\n")
        (repo.path / "which.py").write_text("import auto_log\nprint('img1.jpg\\t[' + str(auto_log.REAL).lower() + ']')\n")
        monkeypatch.setenv("PYTHONPATH", str(repo.path / "site"))
        result = run(repo, config(repo, {40: "inference:which.py"}))
        result.assert_outcomes(passed=2)
        log = next((repo.path / OUT).rglob("python_infer_*.log"))
        assert "img1.jpg\t[true]" in log.read_text()

    @pytest.mark.parametrize("end", ["\n", "\r", "\r\n"], ids=["lf", "cr", "crlf"])
    def test_evidence_is_read_line_by_line_with_any_line_end(self, tmp_path: Path, end: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
        from pytest_tipc import _fs
        from pytest_tipc.verdicts.evidence import inference_evidence

        monkeypatch.setattr(_fs, "CHUNK", 128)  # chunk boundaries inside lines
        log = tmp_path / "infer.log"
        lines = [f"[2024/05/10] ppocr INFO: {n:>3d}/100 progress" for n in range(30)]
        lines += ["[2024/05/10] ppocr INFO: Predicts of ./doc/imgs/11.jpg:('for', 0.99)"] * 3
        log.write_bytes(end.join(lines).encode())
        assert inference_evidence(log, (), tmp_path, "ocr", None).found == "3 result line(s)"


class TestEvidenceOfEval:
    def test_eval_that_prints_no_metric_fails(self, repo: pytest.Pytester) -> None:
        (repo.path / "noop_eval.py").write_text("print('loading the model')\n")
        result = run(repo, config(repo, {24: "eval:noop_eval.py"}))
        result.assert_outcomes(failed=2)  # the train item, and the infer item that uses its model
        out = result.stdout.str()
        assert "step eval exited 0 but printed no evaluation metric" in out
        status = (repo.path / OUT / "results_python.log").read_text()
        assert "Run failed with command" in status and "noop_eval.py" in status

    @pytest.mark.parametrize("line", [
        "[Eval] loss: 0.50000, acc_top1: 0.50000, acc_top5: 0.90000, samples: 8",  # reference_model
        "[Eval][Epoch 0][Avg]CELoss: 0.50000, loss: 0.50000, top1: 0.50000, top5: 0.90000",  # PaddleClas
        "2022-04-13 11:45:01 [INFO]\t[EVAL] #Images: 50 mIoU: 0.8725 Acc: 0.9449 Kappa: 0.9449 Dice: 0.9334",
        "[2024/01/01 10:00:00] ppocr INFO: metric eval ***************",  # PaddleOCR tools/eval.py
        " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.012",  # PaddleDetection
        "[01/01 10:00:00] ppdet.metrics.metrics INFO: mAP(0.50, 11point) = 1.52%",
        "[Eval][Epoch 0][Avg]recall1: 0.50000, recall5: 0.90000, mAP: 0.40000",  # PaddleClas retrieval
        "2022-04-13 11:45:01 [INFO]\t[EVAL] SAD: 12.3456 MSE: 0.0123 Grad: 8.1 Conn: 11.9",  # PaddleSeg Matting
        "          IDF1   IDP   IDR  Rcll  Prcn  GT  MT  PT  ML  FP  FN  IDs  FM  MOTA  MOTP",  # eval_mot.py
        " * Acc@1 0.125 Acc@5 0.500",  # Step6 train.py --test-only (evaluate)
    ])
    def test_eval_that_prints_its_metric_line_passes(self, repo: pytest.Pytester, line: str) -> None:
        (repo.path / "an_eval.py").write_text(f"print({line!r})\n")
        run(repo, config(repo, {24: "eval:an_eval.py"})).assert_outcomes(passed=2)


SAMPLES = {
    "paddle-75496": "[ERROR] Not find predictor_id 0 and pass_name memory_optimize_pass",
    "paddle-77340": "NotImplementedError: ConvertPirAttribute2RuntimeAttribute not support [pir::ArrayAttribute]",
    "pdmodel-vs-json": "ValueError: The file ./inference/model.pdmodel does not exist",
    "no-auto-log": "ModuleNotFoundError: No module named 'auto_log'",
    "gpu-on-cpu-build": "ValueError: The device should not be 'gpu', since PaddlePaddle is not compiled with CUDA",
    "no-paddle": "ModuleNotFoundError: No module named 'paddle'",
    "paddleclas-egg": "ModuleNotFoundError: No module named 'paddleclas.ppcls'",
    "paddle2onnx-1597": "[Paddle2ONNX] Failed to parse paddlepaddle model from read content.",
    "no-onnxruntime": "ModuleNotFoundError: No module named 'onnxruntime'",
}


class TestKnownCauses:
    @pytest.mark.parametrize("sig", sorted(SAMPLES))
    def test_each_signature_is_recognised(self, sig: str) -> None:
        cause = causes.explain(f"Traceback (most recent call last):\n  File \"x.py\", line 1\n{SAMPLES[sig]}\n",
                               python="/opt/py/bin/python")
        assert cause is not None and cause.id == sig
        assert cause.lineno == 3 and cause.fix and cause.link.startswith("https://")
        assert "{python}" not in cause.cause + cause.fix

    @pytest.mark.parametrize("sig", sorted(SAMPLES))
    def test_an_infer_printing_each_signature_fails_with_its_cause(self, repo: pytest.Pytester, sig: str) -> None:
        (repo.path / "sig_infer.py").write_text(f"import sys\nprint({SAMPLES[sig]!r})\nsys.exit(1)\n")
        result = run(repo, config(repo, {40: "inference:sig_infer.py"}))
        result.assert_outcomes(passed=1, failed=1)
        out = result.stdout.str()
        assert f"known cause ({sig})" in out
        assert out.index(f"known cause ({sig})") < out.index("command:")  # the cause goes first
        if sig == "no-paddle":  # said once, naming the interpreter, without the log tail
            assert sys.executable in out and "--tipc-python" in out and "----- last 50 lines" not in out

    def test_every_log_signature_has_a_sample(self) -> None:
        assert {s.id for s in causes.builtin() if not s.artifact} == set(SAMPLES)

    def test_no_paddle_names_the_interpreter_and_drops_the_tail(self) -> None:
        cause = causes.explain(SAMPLES["no-paddle"], python="/opt/py/bin/python3")
        assert cause is not None and not cause.tail
        assert "/opt/py/bin/python3" in cause.cause and "--tipc-python" in cause.fix

    def test_first_error_line(self) -> None:
        text = "loading\nTraceback (most recent call last):\n  File \"a.py\", line 3\nKeyError: 'x'\nERROR again\n"
        assert causes.first_error_line(text) == (4, "KeyError: 'x'")
        assert causes.first_error_line("usage: t.py\nt.py: error: unrecognized arguments: --x\n") == (
            2, "t.py: error: unrecognized arguments: --x")
        assert causes.first_error_line("all good\n") is None

    def test_headline_names_the_step_and_the_first_error(self, repo: pytest.Pytester) -> None:
        (repo.path / "bad_export.py").write_text("import sys\nprint('load ok')\nprint('RuntimeError: shapes differ')\n"
                                                 "sys.exit(1)\n")
        result = run(repo, config(repo, {30: "norm_export:bad_export.py"}))
        assert "step export failed with exit code 1: RuntimeError: shapes differ (log line 3)" in result.stdout.str()

    def test_user_signatures_from_ini_and_hook(self, repo: pytest.Pytester) -> None:
        (repo.path / "mine.json").write_text('[{"id": "mine", "pattern": "FLUX CAPACITOR", "cause": "no flux", '
                                             '"fix": "add flux", "link": "https://example.org/flux"}]')
        repo.makeini("[pytest]\ntipc_known_causes = mine.json\n")
        repo.makeconftest("def pytest_tipc_known_causes(config):\n"
                          "    return [{'id': 'hooked', 'pattern': 'WARP CORE', 'cause': 'warp', 'fix': 'eject'}]\n")
        (repo.path / "flux.py").write_text("print('FLUX CAPACITOR broke')\n")
        (repo.path / "warp.py").write_text("print('WARP CORE breach')\n")
        result = run(repo, config(repo, {40: "inference:flux.py"}))
        assert "known cause (mine): no flux" in result.stdout.str()
        result = run(repo, config(repo, {40: "inference:warp.py"}))
        assert "known cause (hooked): warp" in result.stdout.str()

    def test_a_big_log_is_searched_at_its_head_and_tail_with_true_line_numbers(
            self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(causes, "HEAD_BYTES", 200)
        monkeypatch.setattr(causes, "TAIL_BYTES", 400)
        lines = [f"step {i} " + "x" * (i % 13) for i in range(1, 1000)]
        lines[990] = "ModuleNotFoundError: No module named 'auto_log'"
        log = tmp_path / "big.log"
        log.write_text("\n".join(lines) + "\n")
        numbered = dict(causes._lines(log))
        assert numbered and all(numbered[n] == lines[n - 1] for n in numbered) and max(numbered) == 999
        cause = causes.explain(log)
        assert cause is not None and cause.id == "no-auto-log" and cause.lineno == 991
        assert causes.first_error_line(log) == (991, lines[990])

    def test_a_last_line_longer_than_the_tail_keeps_its_number(
            self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(causes, "HEAD_BYTES", 200)
        monkeypatch.setattr(causes, "TAIL_BYTES", 50)
        lines = [f"step {i}" for i in range(1, 100)] + ["RuntimeError: " + "y" * 200]  # no final line end
        log = tmp_path / "big.log"
        log.write_text("\n".join(lines))
        numbered = dict(causes._lines(log))
        assert max(numbered) == 100 and lines[-1].endswith(numbered[100])

    @pytest.mark.parametrize("tail", [400, 1 << 20], ids=["big-log", "small-log"])
    def test_carriage_return_segments_are_lines_under_their_line_number(
            self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tail: int) -> None:
        """tqdm-style progress: one physical line of ``\\r`` redraws, the error in the last one."""
        monkeypatch.setattr(causes, "HEAD_BYTES", 200)
        monkeypatch.setattr(causes, "TAIL_BYTES", tail)
        bars = "".join(f"\r{n:3d}%|{'#' * (n // 10):<10}| {n}/100 [00:0{n % 10}<00:00]" for n in range(100))
        log = tmp_path / "train.log"
        log.write_bytes(("start\n" + bars + "\rModuleNotFoundError: No module named 'auto_log'\r\n").encode())
        cause = causes.explain(log)
        assert cause is not None and cause.id == "no-auto-log" and cause.lineno == 2
        assert cause.line == "ModuleNotFoundError: No module named 'auto_log'"

    def test_a_bad_user_signature_file_is_a_usage_error(self) -> None:
        with pytest.raises(causes.SignatureError, match="not a valid regex"):
            causes.parse_signatures([{"pattern": "(", "cause": "c", "fix": "f"}], "x.json")


class TestEveryRow:
    BUNDLED = sorted(p for p in (REPO / "test_tipc" / "configs").rglob("*train*infer*python*.txt")
                     if parse_file(p).layout == "t51")

    @pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
    def test_each_deleted_row_of_the_bundled_configs_is_an_error(self, path: Path) -> None:
        lines = path.read_text().splitlines()
        validate(parse_text("\n".join(lines), path), "template")
        for index in range(51):  # the rows after 51 (benchmark sections) are free
            shifted = lines[:index] + lines[index + 1:]
            with pytest.raises(ConfigError) as info:
                validate(parse_text("\n".join(shifted), path), "template")
            assert str(info.value).startswith(f"{path}:") and "Fix:" in str(info.value)

    def test_deleting_row_48_names_the_image_row(self) -> None:
        lines = t51_text().splitlines()
        del lines[47]
        with pytest.raises(ConfigError) as info:
            validate(parse_text("\n".join(lines), "c.txt"), "template")
        assert str(info.value).startswith("c.txt:48: expected a parameter key (image dir) as row 48, "
                                          "found `--save-log-path:null`")
        assert "1 row is missing: add a parameter key (image dir) as row 48, after line 47" in str(info.value)

    def test_a_misnamed_image_row_states_the_rule(self) -> None:
        with pytest.raises(ConfigError) as info:  # the rows around it are in place: the key is what is wrong
            validate(parse_text(t51_text({48: "--data-path:./images"}), "c.txt"), "template")
        text = str(info.value)
        assert text.startswith("c.txt:48: expected a parameter key (image dir) as row 48, found `--data-path:./images`")
        assert "row 48's key must mention one of `img`, `image`, `video`" in text and "rename `--data-path`" in text
        assert "restore any row" not in text

    def test_a_doubled_row_is_named_extra(self) -> None:
        lines = t51_text().splitlines()
        lines.insert(40, lines[40])
        with pytest.raises(ConfigError, match=r"line 42 .* is an extra row"):
            validate(parse_text("\n".join(lines), "c.txt"), "template")

    def test_unknown_trainer_suggests_the_closest(self) -> None:
        with pytest.raises(ConfigError) as info:
            validate(parse_text(t51_text({15: "trainer:norm_trian"}), "c.txt"), "template")
        assert str(info.value).startswith("c.txt:15: expected trainer names among")
        assert "found `norm_trian`" in str(info.value) and "did you mean `norm_train`?" in str(info.value)

    @pytest.mark.parametrize("dialect,name", [
        ("clas", "PaddleClas/test_tipc/configs/AlexNet/AlexNet_train_infer_python.txt"),
        ("det", "PaddleDetection/test_tipc/configs/yolov3/yolov3_darknet53_270e_coco_train_infer_python.txt"),
        ("ocr", "PaddleOCR/test_tipc/configs/ch_PP-OCRv2_det/train_infer_python.txt"),
        ("seg", "PaddleSeg/test_tipc/configs/pp_liteseg_stdc1/train_infer_python.txt"),
        ("seg", "PaddleSeg/contrib/PanopticSeg/test_tipc/configs/panoptic_deeplab/train_infer_python.txt"),
        ("s32", None),
    ])
    def test_shifted_rows_of_one_conformance_config_per_dialect(self, dialect: str, name: str | None) -> None:
        base = conformance_dir()
        if base is None:
            pytest.skip("no ../shared/conformance")
        if name is None:
            name = next(str(p.relative_to(base / "configs")) for p in sorted((base / "configs").rglob("*.txt"))
                        if parse_file(p).layout == "s32")
        path = base / "configs" / name
        if not path.is_file():
            pytest.skip(f"{name} is not in this corpus")
        lines = path.read_text().split("\n")
        validate(parse_text("\n".join(lines), path), dialect)
        # rows 50-51 (31-32) are left out: with benchmark rows after them, `null:null` slides into a
        # parameter row that accepts null (a known limit, see the closing note)
        rows = [i for i, text in enumerate(lines) if text][: 49 if dialect != "s32" else 31]
        for index in rows:
            with pytest.raises(ConfigError):
                validate(parse_text("\n".join(lines[:index] + lines[index + 1:]), path), dialect)


class TestNumbersAndResults:
    SEG_TRAIN = ("2024 [INFO]\t[TRAIN] epoch: 1, iter: 1/2, loss: 2.0, lr: 0.01, batch_cost: 0.9000, "
                 "reader_cost: 0.01, ips: 2.2 samples/sec | ETA 00:00:01\n"
                 "2024 [INFO]\t[TRAIN] epoch: 1, iter: 2/2, loss: 1.8, lr: 0.01, batch_cost: 0.9200, "
                 "reader_cost: 0.01, ips: 2.1 samples/sec | ETA 00:00:00\n"
                 "1/4 [======>.......................] - ETA: 0s - batch_cost: 0.1000 - reader cost: 0.0100\n"
                 "4/4 [==============================] - 0s 100ms/step - batch_cost: 0.1000 - reader cost: 0.01\n"
                 "4/4 - 1s - batch_cost: 0.1000 - reader cost: 0.0100\n")  # the verbose=2 form

    def test_seg_eval_progress_lines_are_not_iterations(self, tmp_path: Path) -> None:
        summary = summarize(self.SEG_TRAIN)
        assert summary.logged_steps == 2 and summary.mean_batch_cost == pytest.approx(0.91)
        log = tmp_path / "train.log"
        log.write_text(self.SEG_TRAIN * 3)
        assert summarize(log).logged_steps == 6

    def test_eval_metric_results_are_not_applicable(self, tmp_path: Path) -> None:
        results = tmp_path / "test_tipc" / "results"
        results.mkdir(parents=True)
        (results / "python_seg_results_fp32.txt").write_text("mIoU: 0.87\nAcc: 0.94\nKappa: 0.94\n")
        log = tmp_path / "infer.log"
        log.write_text("[INFO] Finish\n")
        for update in ("none", "failing"):
            verdict = check_results(log_path=log, results_dir=results, model="seg", precision="fp32",
                                    update=update)  # type: ignore[arg-type]
            assert verdict.passed and verdict.update is None
            assert "evaluation metrics (mIoU, Acc, Kappa)" in verdict.not_applicable
            assert "--tipc-update" not in verdict.message + verdict.not_applicable

    def test_not_applicable_is_visible_in_the_item(self, repo: pytest.Pytester) -> None:
        (repo.path / "pretrained").mkdir()
        results = repo.path / "test_tipc" / "results"
        results.mkdir(parents=True)
        (results / "python_tiny_results_fp32.txt").write_text("mIoU: 0.87\nAcc: 0.94\n")
        cfg = config(repo, {37: "infer_model:./pretrained", 38: "infer_export:null"})
        (repo.path / "pretrained" / "inference.json").write_text("{}")
        (repo.path / "pretrained" / "inference.pdiparams").write_text("p")
        result = run(repo, cfg, "--tipc-mode", "whole_infer")
        result.assert_outcomes(passed=2)
        assert "tipc stored results" in result.stdout.str() and "not applicable" in result.stdout.str()

    def test_seg_results_file_with_its_image_count_is_not_applicable(self, repo: pytest.Pytester) -> None:
        # PaddleSeg's test_tipc/results/python_fcn_hrnetw18_small_results_fp32.txt, as upstream ships it
        results = repo.path / "test_tipc" / "results"
        results.mkdir(parents=True)
        (results / "python_tiny_results_fp32.txt").write_text(
            "#Images: 50\nmIoU: 0.8725311260007227\nAcc: 0.9448749852040087\nKappa: 0.9448749490413363\n"
            "Class IoU: [0.92665219 0.81841007]\nClass Acc: [0.97443367 0.87082671]\n")
        (repo.path / "pretrained").mkdir()
        (repo.path / "pretrained" / "inference.json").write_text("{}")
        (repo.path / "pretrained" / "inference.pdiparams").write_text("p")
        cfg = config(repo, {37: "infer_model:./pretrained", 38: "infer_export:null"})
        result = run(repo, cfg, "--tipc-mode", "whole_infer")
        out = result.stdout.str()
        result.assert_outcomes(passed=2)
        assert "evaluation metrics (#Images, mIoU, Acc, Kappa)" in out and "not applicable" in out
        assert "--tipc-update" not in out

    def test_compare_results_can_be_turned_off(self, repo: pytest.Pytester) -> None:
        (repo.path / "pretrained").mkdir()
        results = repo.path / "test_tipc" / "results"
        results.mkdir(parents=True)
        (results / "python_tiny_results_fp32.txt").write_text('img1.jpg\t{"class_ids": [9], "scores": [0.1, 0.9]}\n')
        (repo.path / "pretrained" / "inference.json").write_text("{}")
        (repo.path / "pretrained" / "inference.pdiparams").write_text("p")
        cfg = config(repo, {37: "infer_model:./pretrained", 38: "infer_export:null"})
        assert run(repo, cfg, "--tipc-mode", "whole_infer").ret == 1
        result = run(repo, cfg, "--tipc-mode", "whole_infer", "-o", "tipc_compare_results=false")
        result.assert_outcomes(passed=2)

    def test_junit_tipc_log_of_a_train_item_is_its_train_log(self, repo: pytest.Pytester) -> None:
        result = run(repo, config(repo), "--junitxml", "j.xml")
        assert result.ret == 0
        xml = (repo.path / "j.xml").read_text()
        train_case = xml[xml.index('name="train['):]
        value = train_case[train_case.index('name="tipc_log" value="') + 23:].split('"')[0]
        assert value.endswith("norm_train_gpus_-1_autocast_null.log"), value


class TestStatusLog:
    def test_results_python_log_names_the_path_and_log_that_were_used(self, tmp_path: Path) -> None:
        from pytest_tipc.execution.engine import Engine, EngineSettings
        from pytest_tipc.layout import FILENAME
        from pytest_tipc.model.cells import PathChoice, Plan, Step, model_cell
        from pytest_tipc.verdicts.check import judge

        root = tmp_path / "repo"
        (root / "out" / "iter_2").mkdir(parents=True)
        (root / "out" / "iter_2" / "model.pdparams").write_text("w")
        export = Step("export", (sys.executable, "-c", "print('exported')", "--model_path=out/best/model.pdparams"),
                      log="test_tipc/output/m/export.log",
                      status=f"Run {{verdict}} with command - {sys.executable} export "
                             "--model_path=out/best/model.pdparams > test_tipc/output/m/export.log 2>&1",
                      choices=(PathChoice("out/iter_2/model.pdparams", "out/best/model.pdparams"),))
        cell = model_cell(model="m", mode="whole_infer", index=0, infer_model="out", steps=[export])
        plan = Plan("seg", "whole_infer", "m", "test_tipc/output/m", (cell,), root=str(root))
        engine = Engine(EngineSettings(state_dir=tmp_path / "state", cache_dir=tmp_path / "cache", gpus=()))
        outcome = engine.run_cell(plan, cell, judge())
        assert outcome.ok, outcome.failure
        status = (root / "test_tipc" / "output" / "m" / FILENAME).read_text()
        assert "--model_path=out/iter_2/model.pdparams" in status and "best" not in status
        assert outcome.results[0].argv[-1] == "--model_path=out/iter_2/model.pdparams"

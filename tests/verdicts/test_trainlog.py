"""pytest_tipc.verdicts.trainlog: the per-iteration training-log fields, on each repo's real log shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tipc.verdicts.trainlog import check_train_log, parse_iterations, summarize

FIX = ("Fix: print loss, avg_reader_cost, avg_batch_cost and avg_ips each iteration (spec 001 §2.2.3), "
       "or set tipc_check_train_log = false in the ini.")

# models tutorial Step6 (S32), the spec's own spelling.
S32_LOG = """\
[2021/12/21 16:30:12] root INFO: [Epoch 0, iter: 0] top1: 0.00000, top5: 0.00000, lr: 0.01000, loss: 7.13120, avg_reader_cost: 0.62413 sec, avg_batch_cost: 1.96213 sec, avg_samples: 8.0, avg_ips: 4.07720 images/sec.
[2021/12/21 16:30:13] root INFO: [Epoch 0, iter: 1] top1: 0.12500, top5: 0.25000, lr: 0.01000, loss: 6.85407, avg_reader_cost: 0.00035 sec, avg_batch_cost: 0.21133 sec, avg_samples: 8.0, avg_ips: 37.85543 images/sec.
[2021/12/21 16:30:14] root INFO: [Eval][Epoch 0] top1: 0.12500, top5: 0.50000, loss: 6.71234, avg_reader_cost: 0.001 sec, avg_batch_cost: 0.1 sec, avg_ips: 80.0 images/sec
"""

# PaddleOCR tools/program.py: avg_ costs in "s", "ips:" in samples/s.
OCR_LOG = """\
[2022/08/16 03:07:36] ppocr INFO: epoch: [1/2], global_step: 1, lr: 0.001000, loss: 3.416421, loss_shrink_maps: 1.865123, loss_threshold_maps: 0.951234, loss_binary_maps: 0.600064, avg_reader_cost: 2.63382 s, avg_batch_cost: 6.32390 s, avg_samples: 8.0, ips: 1.26504 samples/s, eta: 0:01:02
[2022/08/16 03:07:38] ppocr INFO: epoch: [1/2], global_step: 2, lr: 0.001000, loss: 3.198540, loss_shrink_maps: 1.701234, loss_threshold_maps: 0.898765, loss_binary_maps: 0.598541, avg_reader_cost: 0.02533 s, avg_batch_cost: 0.37251 s, avg_samples: 8.0, ips: 21.47593 samples/s, eta: 0:00:07
[2022/08/16 03:07:39] ppocr INFO: save model in ./output/norm_train_gpus_-1_autocast_null/latest
"""

# PaddleClas ppcls/engine/train/utils.py: batch_cost with "s" glued on, reader_cost with no unit.
CLAS_LOG = """\
[2022/04/26 10:20:01] ppcls INFO: [Train][Epoch 1/2][Iter: 0/10]lr(LinearWarmup): 0.00010000, CELoss: 6.91543, loss: 6.91543, batch_cost: 2.43561s, reader_cost: 0.61280, ips: 3.28460 samples/s, eta: 0:00:48
[2022/04/26 10:20:03] ppcls INFO: [Train][Epoch 1/2][Iter: 5/10]lr(LinearWarmup): 0.00060000, CELoss: 6.90212, loss: 6.90212, batch_cost: 0.32112s, reader_cost: 0.00061, ips: 24.91281 samples/s, eta: 0:00:05
[2022/04/26 10:20:05] ppcls INFO: [Train][Epoch 1/2][Avg]CELoss: 6.90877, loss: 6.90877
[2022/04/26 10:20:06] ppcls INFO: [Eval][Epoch 1][Iter: 0/4]CELoss: 6.88000, loss: 6.88000, top1: 0.00000, top5: 0.12500, batch_cost: 0.40000s, reader_cost: 0.20000, ips: 20.00000 images/sec
"""

# PaddleDetection ppdet/utils/... LogPrinter: space-separated, data_cost, images/s.
DET_LOG = """\
[07/28 22:26:37] ppdet.engine INFO: Epoch: [0] [ 0/25] learning_rate: 0.000010 loss_xy: 2.176380 loss_wh: 0.281400 loss_obj: 1.732086 loss_cls: 0.237628 loss: 4.377978 eta: 0:54:58 batch_cost: 2.0509 data_cost: 1.7642 ips: 3.9007 images/s
[07/28 22:27:11] ppdet.engine INFO: Epoch: [0] [20/25] learning_rate: 0.000010 loss_xy: 2.089241 loss_wh: 0.264828 loss_obj: 1.916301 loss_cls: 0.270123 loss: 4.587981 eta: 0:54:16 batch_cost: 1.7235 data_cost: 1.4684 ips: 4.6417 images/s
"""

# PaddleSeg paddleseg/core/train.py: "[TRAIN]", samples/sec, "| ETA".
SEG_LOG = """\
2022-04-13 11:41:02 [INFO]\t[TRAIN] epoch: 1, iter: 10/50, loss: 2.1234, lr: 0.009820, batch_cost: 0.2345, reader_cost: 0.01234, ips: 8.5288 samples/sec | ETA 00:00:09
2022-04-13 11:41:04 [INFO]\t[TRAIN] epoch: 1, iter: 20/50, loss: 1.8765, lr: 0.009639, batch_cost: 0.2101, reader_cost: 0.00102, ips: 9.5193 samples/sec | ETA 00:00:06
2022-04-13 11:41:05 [INFO]\t[EVAL] #Images: 50 mIoU: 0.4123 Acc: 0.8123 Kappa: 0.3012 Dice: 0.5531
"""


class TestRealShapes:
    @pytest.mark.parametrize(("log", "iterations", "final_loss", "mean_ips", "spellings"), [
        (S32_LOG, None, 6.85407, (4.07720 + 37.85543) / 2,
         {"loss": "loss", "avg_reader_cost": "avg_reader_cost", "avg_batch_cost": "avg_batch_cost",
          "avg_ips": "avg_ips"}),
        (OCR_LOG, 2, 3.198540, (1.26504 + 21.47593) / 2,
         {"loss": "loss", "avg_reader_cost": "avg_reader_cost", "avg_batch_cost": "avg_batch_cost",
          "avg_ips": "ips"}),
        (CLAS_LOG, 6, 6.90212, (3.28460 + 24.91281) / 2,
         {"loss": "loss", "avg_reader_cost": "reader_cost", "avg_batch_cost": "batch_cost", "avg_ips": "ips"}),
        (DET_LOG, 21, 4.587981, (3.9007 + 4.6417) / 2,
         {"loss": "loss", "avg_reader_cost": "data_cost", "avg_batch_cost": "batch_cost", "avg_ips": "ips"}),
        (SEG_LOG, 20, 1.8765, (8.5288 + 9.5193) / 2,
         {"loss": "loss", "avg_reader_cost": "reader_cost", "avg_batch_cost": "batch_cost", "avg_ips": "ips"}),
    ], ids=["s32", "ocr", "clas", "det", "seg"])
    def test_repo_logs_pass(self, log: str, iterations: int | None, final_loss: float, mean_ips: float,
                            spellings: dict[str, str]) -> None:
        summary = summarize(log, "train.log")
        assert summary.ok, summary.failure_message()
        assert summary.failure_message() == ""
        assert summary.logged_steps == 2
        assert summary.iterations == iterations  # from the step counter the last line prints
        assert summary.final_loss == final_loss
        assert summary.mean_ips == pytest.approx(mean_ips)
        assert summary.spellings == spellings
        assert summary.missing == () and summary.partial == {}

    def test_eval_and_epoch_summary_lines_are_not_iterations(self) -> None:
        assert [it.lineno for it in parse_iterations(CLAS_LOG)] == [1, 2]
        assert [it.lineno for it in parse_iterations(S32_LOG)] == [1, 2]

    def test_loss_is_not_read_from_other_loss_names(self) -> None:
        (first, _) = parse_iterations(DET_LOG)
        assert first.values["loss"] == 4.377978
        (clas, _) = parse_iterations(CLAS_LOG)
        assert clas.values["loss"] == 6.91543 and clas.values["avg_batch_cost"] == 2.43561

    def test_metrics(self) -> None:
        summary = summarize(S32_LOG)
        assert summary.metrics() == {
            "iterations": None, "logged_steps": 2, "final_loss": 6.85407, "mean_ips": pytest.approx((4.0772 + 37.85543) / 2),
            "mean_batch_cost_s": pytest.approx((1.96213 + 0.21133) / 2),
            "mean_reader_cost_s": pytest.approx((0.62413 + 0.00035) / 2)}


class TestFailures:
    def test_missing_fields_are_named_with_the_log_and_the_fix(self) -> None:
        log = ("[Epoch 0, iter: 0] loss: 7.1, avg_batch_cost: 1.9 sec\n"
               "[Epoch 0, iter: 1] loss: 6.8, avg_batch_cost: 0.2 sec\n")
        summary = summarize(log, "test_tipc/output/m/lite/norm_train_gpus_-1_autocast_null/train.log")
        assert not summary.ok
        assert summary.missing == ("avg_reader_cost", "avg_ips")
        assert summary.failure_message() == (
            "training log test_tipc/output/m/lite/norm_train_gpus_-1_autocast_null/train.log: 2 iteration line(s), "
            "but none prints avg_reader_cost, avg_ips.\n" + FIX)

    def test_loss_only_log(self) -> None:
        summary = summarize("epoch 1 step 10 loss: 0.5\nepoch 1 step 20 loss: 0.4\n", "train.log")
        assert summary.missing == ("loss", "avg_reader_cost", "avg_batch_cost", "avg_ips")
        assert summary.failure_message() == (
            "training log train.log: no iteration line found (2 line(s) print loss but none prints a timing field); "
            "missing fields: loss, avg_reader_cost, avg_batch_cost, avg_ips.\n" + FIX)

    def test_empty_log(self) -> None:
        assert summarize("", "train.log").failure_message() == (
            "training log train.log: no iteration line found (no line prints loss or a timing field); "
            "missing fields: loss, avg_reader_cost, avg_batch_cost, avg_ips.\n" + FIX)

    def test_timing_without_loss(self) -> None:
        summary = summarize("step 1 avg_reader_cost: 0.1 s, avg_batch_cost: 0.2 s, avg_ips: 5 images/sec\n", "t.log")
        assert summary.missing == ("loss",)
        assert summary.failure_message() == "training log t.log: 1 iteration line(s), but none prints loss.\n" + FIX

    def test_missing_file(self, tmp_path: Path) -> None:
        summary = check_train_log(tmp_path / "train.log", display_path="out/train.log")
        assert not summary.ok
        assert summary.failure_message() == (
            "training log out/train.log: the file does not exist (the training step wrote no log here).\n" + FIX)

    def test_unreadable_file(self, tmp_path: Path) -> None:
        summary = check_train_log(tmp_path)  # a directory
        assert not summary.ok and summary.failure_message().startswith(f"training log {tmp_path}: cannot be read (")

    def test_spec_names_only_rejects_clas_spelling(self) -> None:
        summary = summarize(CLAS_LOG, "clas.log", spec_names=True)
        assert summary.missing == ("avg_reader_cost", "avg_batch_cost")
        assert summary.logged_steps == 2  # "ips:" is a spec spelling (the benchmark parser keys on it)
        assert summary.failure_message() == (
            "training log clas.log: 2 iteration line(s), but none prints avg_reader_cost, avg_batch_cost.\n" + FIX)

    def test_partial_fields_are_noted_not_failed(self) -> None:
        log = S32_LOG + "[Epoch 0, iter: 2] loss: 6.5, avg_reader_cost: 0.0003 sec, avg_batch_cost: 0.2 sec\n"
        summary = summarize(log)
        assert summary.ok
        assert summary.partial == {"avg_ips": 1}
        assert summary.notes() == ["avg_ips is missing on 1 of 3 iteration lines"]

    def test_required_subset_and_unknown_field(self) -> None:
        assert summarize("loss: 1.0, ips: 3 samples/s\n", required=("loss", "avg_ips")).ok
        with pytest.raises(ValueError, match=r"unknown training-log field\(s\) \['acc'\]"):
            summarize("", required=("acc",))

    def test_file_round_trip(self, tmp_path: Path) -> None:
        log = tmp_path / "train.log"
        log.write_text(OCR_LOG, encoding="utf-8")
        summary = check_train_log(log)
        assert summary.ok and summary.log_path == str(log) and summary.final_loss == 3.19854


class TestStreaming:
    """Big logs are read in chunks; regular chunks take a fast path that must agree with the
    line-by-line one."""

    @pytest.mark.parametrize("log", [S32_LOG, OCR_LOG, CLAS_LOG, DET_LOG, SEG_LOG], ids=["s32", "ocr", "clas", "det", "seg"])
    def test_fast_path_agrees_with_line_by_line(self, log: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
        from pytest_tipc import _fs
        from pytest_tipc.verdicts import trainlog

        path = tmp_path / "train.log"
        path.write_text(log * 50)
        monkeypatch.setattr(_fs, "CHUNK", 700)  # many chunk boundaries, some inside a line
        fast = check_train_log(path)
        monkeypatch.setattr(trainlog._Stats, "_feed_regular", lambda self, text: False)
        slow = check_train_log(path)
        assert fast == slow and fast.logged_steps == 100 and fast.ok
        assert fast.iterations == summarize(log).iterations  # the last line's counter

    def test_a_regular_chunk_really_takes_the_fast_path(self) -> None:
        from pytest_tipc.verdicts import trainlog

        stats = trainlog._Stats(trainlog.REQUIRED_FIELDS, False)
        assert stats._feed_regular(SEG_LOG.split("\n", 1)[0] + "\n")
        assert not stats._feed_regular("[EVAL] loss: 1, batch_cost: 1, reader_cost: 1, ips: 1\n")
        for line in ("[eVaL] loss: 1, batch_cost: 1, reader_cost: 1, ips: 1\n",  # any casing
                     "50/50 - loss: 1 - batch_cost: 1 - reader_cost: 1 - ips: 1\n"):  # a bar-less progress line
            assert not stats._feed_regular(line)
            assert trainlog.summarize(line * 3).logged_steps == 0


class TestIterations:
    """Issue 18: ``iterations`` is how many steps ran (the counter the log reports), ``logged_steps``
    how many iteration lines it printed."""

    # PaddleOCR det, Global.print_batch_step=2 and 4 steps: two lines, global_step 2 and 4.
    OCR_DET = """\
[2024/05/10 10:00:01] ppocr INFO: epoch: [1/1], global_step: 2, lr: 0.001000, loss: 4.532118, loss_shrink_maps: 2.524437, loss_threshold_maps: 1.502313, loss_binary_maps: 0.505368, avg_reader_cost: 0.52413 s, avg_batch_cost: 1.30525 s, avg_samples: 1.0, ips: 0.76614 samples/s, eta: 0:00:02, max_mem_reserved: 0 MB, max_mem_allocated: 0 MB
[2024/05/10 10:00:03] ppocr INFO: epoch: [1/1], global_step: 4, lr: 0.001000, loss: 4.126501, loss_shrink_maps: 2.301204, loss_threshold_maps: 1.325871, loss_binary_maps: 0.499426, avg_reader_cost: 0.00041 s, avg_batch_cost: 0.98112 s, avg_samples: 1.0, ips: 1.01924 samples/s, eta: 0:00:00, max_mem_reserved: 0 MB, max_mem_allocated: 0 MB
[2024/05/10 10:00:03] ppocr INFO: save model in ./output/norm_train_gpus_-1_autocast_null/latest
"""

    # PaddleSeg: two [TRAIN] lines, then evaluate()'s Progbar. On Linux it always redraws in
    # place ('posix' in sys.modules): "\b" * width + "\r" before each update, "\n" after the last.
    SEG = ("2024-05-10 10:00:01 [INFO]\t[TRAIN] epoch: 1, iter: 10/20, loss: 2.6021, lr: 0.009595, "
           "batch_cost: 0.6120, reader_cost: 0.02150, ips: 3.2680 samples/sec | ETA 00:00:06\n"
           "2024-05-10 10:00:07 [INFO]\t[TRAIN] epoch: 1, iter: 20/20, loss: 2.1837, lr: 0.009144, "
           "batch_cost: 0.5940, reader_cost: 0.00071, ips: 3.3670 samples/sec | ETA 00:00:00\n"
           "2024-05-10 10:00:07 [INFO]\tStart evaluating (total_samples: 2, total_iters: 2)...\n"
           "\r1/2 [==============>...............] - ETA: 0s - batch_cost: 0.0410 - reader cost: 0.0013"
           + "\b" * 87 + "\r2/2 [==============================] - 0s 40ms/step - batch_cost: 0.0395 - "
           "reader cost: 9.8944e-04\n"
           "2024-05-10 10:00:08 [INFO]\t[EVAL] #Images: 2 mIoU: 0.0312 Acc: 0.5017 Kappa: 0.0079 Dice: 0.0560\n")

    # PaddleClas, 2 epochs of 20 steps, print_batch_step 10: Iter is 0-based within the epoch.
    CLAS = """\
[2024/05/10 10:00:01] ppcls INFO: [Train][Epoch 1/2][Iter: 0/20]lr(LinearWarmup): 0.00010000, CELoss: 6.91543, loss: 6.91543, batch_cost: 2.43561s, reader_cost: 0.61280, ips: 3.28460 samples/s, eta: 0:01:37
[2024/05/10 10:00:04] ppcls INFO: [Train][Epoch 1/2][Iter: 10/20]lr(LinearWarmup): 0.00060000, CELoss: 6.90212, loss: 6.90212, batch_cost: 0.32112s, reader_cost: 0.00061, ips: 24.91281 samples/s, eta: 0:00:09
[2024/05/10 10:00:07] ppcls INFO: [Train][Epoch 1/2][Avg]CELoss: 6.90877, loss: 6.90877
[2024/05/10 10:00:07] ppcls INFO: [Train][Epoch 2/2][Iter: 0/20]lr(LinearWarmup): 0.00110000, CELoss: 6.89000, loss: 6.89000, batch_cost: 0.33021s, reader_cost: 0.00070, ips: 24.22700 samples/s, eta: 0:00:06
[2024/05/10 10:00:10] ppcls INFO: [Train][Epoch 2/2][Iter: 10/20]lr(LinearWarmup): 0.00160000, CELoss: 6.87001, loss: 6.87001, batch_cost: 0.32500s, reader_cost: 0.00065, ips: 24.61538 samples/s, eta: 0:00:03
"""

    # PaddleDetection, 2 epochs of 20 steps, log_iter 20: epoch and step both 0-based.
    DET = """\
[05/10 10:00:01] ppdet.engine INFO: Epoch: [0] [ 0/20] learning_rate: 0.000010 loss_xy: 2.176380 loss_wh: 0.281400 loss_obj: 1.732086 loss_cls: 0.237628 loss: 4.377978 eta: 0:00:58 batch_cost: 2.0509 data_cost: 1.7642 ips: 3.9007 images/s
[05/10 10:00:44] ppdet.engine INFO: Epoch: [1] [ 0/20] learning_rate: 0.000010 loss_xy: 2.089241 loss_wh: 0.264828 loss_obj: 1.916301 loss_cls: 0.270123 loss: 4.587981 eta: 0:00:36 batch_cost: 1.7235 data_cost: 1.4684 ips: 4.6417 images/s
"""

    @pytest.mark.parametrize(("log", "iterations", "logged"), [
        (OCR_DET, 4, 2), (SEG, 20, 2), (CLAS, 31, 4), (DET, 21, 2), (S32_LOG, None, 2),
    ], ids=["ocr-det", "seg", "clas", "det", "s32-no-counter"])
    def test_iterations_come_from_the_logged_step_counter(self, log: str, iterations: int | None,
                                                          logged: int) -> None:
        summary = summarize(log, "train.log")
        assert summary.ok, summary.failure_message()
        assert (summary.iterations, summary.logged_steps) == (iterations, logged)
        assert summary.metrics()["iterations"] == iterations and summary.metrics()["logged_steps"] == logged

    def test_seg_eval_progbar_redraws_are_not_steps(self, tmp_path: Path) -> None:
        summary = summarize(self.SEG)
        assert summary.logged_steps == 2
        assert summary.mean_batch_cost == pytest.approx((0.6120 + 0.5940) / 2)
        log = tmp_path / "train.log"
        log.write_bytes(self.SEG.encode())
        assert check_train_log(log) == summarize(self.SEG, str(log))

    def test_a_carriage_return_ends_a_line(self, tmp_path: Path) -> None:
        """tqdm-style: every update on one physical line, ``\\r`` before each."""
        lines = [f"epoch: [1/1], global_step: {n}, loss: 1.{n}, avg_reader_cost: 0.01 s, avg_batch_cost: 0.2 s, "
                 f"ips: 5.0 samples/s" for n in range(1, 6)]
        log = tmp_path / "train.log"
        log.write_bytes(("\r" + "\r".join(lines) + "\n").encode())
        summary = check_train_log(log)
        assert (summary.logged_steps, summary.iterations, summary.final_loss) == (5, 5, 1.5)


class TestCurves:
    """The report's loss/ips curves: streamed from the file and thinned evenly."""

    def test_a_long_log_is_thinned_evenly(self, tmp_path: Path) -> None:
        from pytest_tipc.verdicts.trainlog import curves

        log = tmp_path / "train.log"
        log.write_text("".join(f"[TRAIN] epoch: 1, iter: {n}/5000, loss: {n}.0, batch_cost: 0.2, reader_cost: 0.01, "
                               f"ips: 8.5 samples/sec\n" for n in range(1, 5001)))
        found = curves(log, points=100)
        loss = found["loss"]
        assert 100 <= len(loss) <= 200
        assert loss[0] == (1, 1.0) and all(float(n) == value for n, value in loss)
        steps = {b[0] - a[0] for a, b in zip(loss, loss[1:])}
        assert len(steps) == 1  # evenly spaced
        assert len(found["avg_ips"]) == len(loss)

    def test_carriage_returns_end_lines(self, tmp_path: Path) -> None:
        from pytest_tipc.verdicts.trainlog import curves

        log = tmp_path / "train.log"
        log.write_bytes(TestIterations.SEG.encode())
        assert curves(log)["loss"] == [(1, 2.6021), (2, 2.1837)]


def test_peak_memory_of_a_64_mb_carriage_return_training_log_stays_bounded(tmp_path: Path) -> None:
    """Issue 16: a child checks a 64 MB training log whose only line end is ``\\r`` (tqdm style);
    its peak RSS stays far below the log's size (the carry of an unsplit line grew with it)."""
    import json
    import subprocess
    import sys

    line = TestIterations.OCR_DET.splitlines()[1]
    block = (line + "\r").encode() * 2000
    log = tmp_path / "train.log"
    with open(log, "wb") as fh:
        for _ in range((64 << 20) // len(block)):
            fh.write(block)
    code = ("import json, sys\n"  # VmHWM: ru_maxrss survives exec on Linux (the forking worker's)
            "from pytest_tipc.verdicts.trainlog import check_train_log\n"
            "s = check_train_log(sys.argv[1])\n"
            "print(json.dumps([s.logged_steps, s.iterations, next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')) / 1024]))\n")
    out = subprocess.run([sys.executable, "-c", code, str(log)], capture_output=True, text=True, check=True)
    logged, iterations, peak_mb = json.loads(out.stdout)
    assert logged == (64 << 20) // len(block) * 2000 and iterations == 4
    assert peak_mb < 150, f"peak RSS {peak_mb:.0f} MB checking a 64 MB log"

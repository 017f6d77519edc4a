"""pytest_tipc.verdicts.results.compare: stored results as compare_results.py reads them, without its crash,
and the xdist-safe --tipc-update / --tipc-update-all workflow."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from pytest_tipc.verdicts.results.compare import (
    DEFAULT_TOLERANCES,
    UPDATE_HINT,
    WORKEROUTPUT_KEY,
    ResultsFileError,
    Tolerance,
    UpdateQueue,
    UpdateRequest,
    check_results,
    compare_values,
    extract_image_results,
    find_results,
    load_results,
    merge_file,
    parse_results_text,
    precision_of,
    select_results_file,
    tolerance_for,
    update_mode,
    write_atomic,
)

# PaddleOCR det results (python_ppocr_det_mobile_results_fp32.txt): image path, tab, JSON boxes.
OCR_GT = (
    "./doc/imgs/00008790.jpg\t[[[209, 406], [280, 406], [280, 419], [209, 419]], "
    "[[60, 405], [148, 405], [148, 419], [60, 419]]]\n"
    "./doc/imgs/00018069.jpg\t[[[68, 81], [318, 79], [318, 106], [68, 108]]]\n"
    "./doc/imgs/img_10.jpg\t[[[118, 43], [176, 43], [176, 62], [118, 62]]]\n"
)
# predict_det.py logs `basename\t<json>` through the ppocr logger; other lines mention the images too.
OCR_LOG = (
    "[2022/08/16 03:08:40] ppocr INFO: Namespace(image_dir='./doc/imgs/', precision='fp32')\n"
    "[2022/08/16 03:08:41] ppocr INFO: 00008790.jpg\t[[[209, 406], [280, 406], [280, 419], [209, 419]], "
    "[[60, 405], [148, 405], [148, 419], [60, 419]]]\n"
    "[2022/08/16 03:08:41] ppocr INFO: 0 The predict time of ./doc/imgs/00008790.jpg: 0.2137\n"
    "[2022/08/16 03:08:41] ppocr INFO: 00018069.jpg\t[[[68, 81], [318, 79], [318, 106], [68, 108]]]\n"
    "[2022/08/16 03:08:41] ppocr INFO: img_10.jpg\t[[[118, 43], [176, 43], [176, 62], [118, 62]]]\n"
)
# PaddleSeg results (python_fcn_hrnetw18_small_results_fp32.txt, verbatim).
SEG_GT = ("#Images: 50\nmIoU: 0.8725311260007227\nAcc: 0.9448749852040087\nKappa: 0.9448749490413363\n"
          "Class IoU: [0.92665219 0.81841007]\nClass Acc: [0.97443367 0.87082671]\n")
SEG_LOG = ("2022-04-13 11:45:01 [INFO]\t[EVAL] #Images: 50 mIoU: 0.8725 Acc: 0.9449 Kappa: 0.9449 Dice: 0.9334\n"
           "2022-04-13 11:45:01 [INFO]\t[EVAL] Class IoU: \n[0.9267 0.8184]\n"
           "2022-04-13 11:45:01 [INFO]\t[EVAL] Class Acc: \n[0.9744 0.8708]\n")
# Classification results of the bundled-model kind: a dict per image.
CLS_GT = (
    "./demo/ILSVRC2012_val_00000001.JPEG\t"
    '{"class_ids": [65, 58], "scores": [0.9123, 0.0312], "label_names": ["sea snake", "water snake"]}\n'
    "./demo/ILSVRC2012_val_00000002.JPEG\t"
    '{"class_ids": [795, 792], "scores": [0.5011, 0.2101], "label_names": ["ski", "shovel"]}\n'
)


def cls_line(name: str, scores: tuple[float, float], ids: tuple[int, int] = (65, 58),
             labels: tuple[str, str] = ("sea snake", "water snake")) -> str:
    value = {"class_ids": list(ids), "scores": list(scores), "label_names": list(labels)}
    return f"[2024/01/01 10:00:00] root INFO: {name}\t{json.dumps(value)}\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A harness root with test_tipc/results and an output dir."""
    (tmp_path / "test_tipc" / "results").mkdir(parents=True)
    (tmp_path / "test_tipc" / "output").mkdir(parents=True)
    return tmp_path


def put(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def check(repo: Path, log: str, *, model: str = "mv3", precision: str = "fp32", update: str = "none",
          owner: str = "cfg.txt::infer[cpu-fp32-bs1]", log_name: str = "python_infer_cpu_fp32_bs1.log",
          **kwargs: object):
    log_path = put(repo / "test_tipc" / "output" / log_name, log)
    return check_results(log_path=log_path, results_dir=repo / "test_tipc" / "results", model=model,
                         precision=precision, update=update, owner=owner, root=repo, **kwargs)  # type: ignore[arg-type]


class TestFormats:
    def test_image_form_keys_are_basenames(self) -> None:
        stored = parse_results_text(OCR_GT, "gt.txt")
        assert stored.form == "image"
        assert list(stored.entries) == ["00008790.jpg", "00018069.jpg", "img_10.jpg"]
        assert stored.entries["img_10.jpg"].label == "./doc/imgs/img_10.jpg"
        assert stored.entries["img_10.jpg"].value == [[[118, 43], [176, 43], [176, 62], [118, 62]]]

    def test_cpp_space_separated_ints(self) -> None:
        stored = parse_results_text("./doc/imgs/1.jpg\t209 406 280 406 280 419 209 419 \n")
        assert stored.entries["1.jpg"].value == [[209, 406, 280, 406], [280, 419, 209, 419]]

    def test_metric_form(self) -> None:
        stored = parse_results_text(SEG_GT)
        assert stored.form == "metric"
        assert {k: e.value for k, e in stored.compared.items()} == {
            "#Images": 50, "mIoU": 0.8725311260007227, "Acc": 0.9448749852040087, "Kappa": 0.9448749490413363}
        assert stored.entries["Class IoU"].value == [0.92665219, 0.81841007]
        assert not stored.entries["Class IoU"].compared  # as upstream: per-class lists are not compared

    def test_malformed_image_line(self) -> None:
        with pytest.raises(ResultsFileError) as info:
            parse_results_text("a.jpg\t[1, 2]\nb.jpg\tnot json\n", "test_tipc/results/python_m_results_fp32.txt")
        assert str(info.value) == (
            "test_tipc/results/python_m_results_fp32.txt:2: the result of b.jpg is not JSON nor space-separated "
            "ints: not json. Fix: store the JSON the inference script prints")

    def test_malformed_metric_line(self) -> None:
        with pytest.raises(ResultsFileError, match=r"^r.txt:2: metric mIoU is not a number: high\. "
                                                   r"Fix: write the metric as a number$"):
            parse_results_text("Acc: 0.9\nmIoU: high\n", "r.txt")

    def test_unreadable_file(self, tmp_path: Path) -> None:
        with pytest.raises(ResultsFileError, match="cannot be read"):
            load_results(tmp_path / "absent.txt")

    def test_precision_from_the_name(self) -> None:
        assert precision_of("python_ppocr_det_mobile_results_fp16.txt") == "fp16"
        assert precision_of("/x/fp32/python_m_results_int8.txt") == "int8"
        assert precision_of("python_infer_cpu_usemkldnn_True_threads_1_precision_fp32_batchsize_1.log") == "fp32"
        assert precision_of("python_m_results.txt") is None


class TestFindInLog:
    def test_first_matching_line_after_the_last_occurrence_of_the_key(self) -> None:
        found = find_results(OCR_LOG, parse_results_text(OCR_GT))
        assert found["00008790.jpg"].lineno == 2  # line 3 also names it: only the first parseable counts
        assert found["00018069.jpg"].value == [[[68, 81], [318, 79], [318, 106], [68, 108]]]

    def test_a_line_that_does_not_parse_is_passed_over(self) -> None:
        log = "predicting ./imgs/a.jpg now\nppocr INFO: a.jpg\t[[1, 2]]\n"
        assert find_results(log, parse_results_text("a.jpg\t[[1, 2]]\n"))["a.jpg"].lineno == 2

    def test_keys_match_whole_names_only(self) -> None:
        log = "x INFO: 11.jpg\t[5]\nx INFO: 1.jpg\t[1]\n"
        found = find_results(log, parse_results_text("1.jpg\t[1]\n11.jpg\t[5]\n"))
        assert found["1.jpg"].value == [1] and found["11.jpg"].value == [5]

    def test_unparseable_and_missing(self) -> None:
        found = find_results("x INFO: a.jpg\t[[1, 2]\n", parse_results_text("a.jpg\t[1]\nb.jpg\t[2]\n"))
        assert found["a.jpg"].error.startswith("line 1: not JSON nor space-separated ints")
        assert found["b.jpg"].missing

    def test_metrics_take_the_longer_name(self) -> None:
        found = find_results(SEG_LOG, parse_results_text(SEG_GT))
        assert {k: f.value for k, f in found.items()} == {
            "#Images": 50.0, "mIoU": 0.8725, "Acc": 0.9449, "Kappa": 0.9449}
        log = "[EVAL] Class Acc: 0.1\n[EVAL] mIoU: 0.5 Acc: 0.9\n"
        assert find_results(log, parse_results_text("Acc: 0.9\nClass Acc: 0.1\n"))["Acc"].value == 0.9

    def test_extract_every_result_line(self) -> None:
        found = extract_image_results(OCR_LOG)
        assert list(found) == ["00008790.jpg", "00018069.jpg", "img_10.jpg"]
        assert found["img_10.jpg"].text == "[[[118, 43], [176, 43], [176, 62], [118, 62]]]"


class TestTolerance:
    def test_defaults(self) -> None:
        assert DEFAULT_TOLERANCES["fp32"] == Tolerance(1e-3, 1e-3)
        assert tolerance_for("fp16") == Tolerance(5e-2, 5e-2) == tolerance_for("int8")
        assert tolerance_for("bf16") == Tolerance(1e-3, 1e-3)

    def test_overrides_from_settings(self) -> None:
        overrides = {"fp16": {"atol": 0.02}, "fp32": {"rtol": 0.0, "atol": 1e-5}}
        assert tolerance_for("fp16", overrides) == Tolerance(0.02, 5e-2)
        assert tolerance_for("fp32", overrides) == Tolerance(1e-5, 0.0)

    def test_allclose_semantics_relative_to_the_stored_value(self) -> None:
        tol = Tolerance(1e-3, 1e-3)
        assert compare_values([100.0], [100.1], tol).ok  # 0.1 <= 1e-3 + 1e-3 * 100
        assert not compare_values([100.0], [100.2], tol).ok
        assert not compare_values([0.5011], [0.4911], tolerance_for("fp32")).ok
        assert compare_values([0.5011], [0.4911], tolerance_for("fp16")).ok
        assert compare_values([float("nan")], [float("nan")], tol).ok

    def test_structures(self) -> None:
        tol = tolerance_for("fp32")
        diff = compare_values({"scores": [0.9, 0.1], "labels": ["a", "b"]},
                              {"scores": [0.9, 0.2], "labels": ["a", "b"]}, tol)
        assert (diff.ok, diff.where, diff.expected_leaf, diff.obtained_leaf) == (False, ".scores[1]", 0.1, 0.2)
        diff = compare_values({"labels": ["a", "b"]}, {"labels": ["a", "c"]}, tol)
        assert (diff.ok, diff.problem, diff.where) == (False, "different structure or labels", ".labels[1]")
        diff = compare_values([[1, 2], [3, 4]], [[1, 2]], tol)
        assert (diff.ok, diff.problem) == (False, "shape (1, 2) vs expected (2, 2)")
        assert compare_values([[1, 2], [3]], [[1, 2], [3.0005]], tol).ok  # ragged boxes


class TestCheck:
    def test_pass(self, repo: Path) -> None:
        put(repo / "test_tipc/results/python_ppocr_det_results_fp32.txt", OCR_GT)
        verdict = check(repo, OCR_LOG, model="ppocr_det")
        assert verdict.passed and verdict.message == "" and verdict.update is None
        assert verdict.metrics() == {"results_file": str(repo / "test_tipc/results/python_ppocr_det_results_fp32.txt"),
                                     "results_compared": 3, "results_failed": 0, "results_max_abs_diff": 0.0}

    def test_mismatch_and_missing_image_give_a_table(self, repo: Path) -> None:
        put(repo / "test_tipc/results/python_mv3_results_fp32.txt", CLS_GT)
        verdict = check(repo, cls_line("ILSVRC2012_val_00000002.JPEG", (0.4211, 0.2101), (795, 792), ("ski", "shovel")))
        assert not verdict.passed
        assert verdict.message == (
            "stored results differ for 2 of 2 images\n"
            "  log:     test_tipc/output/python_infer_cpu_fp32_bs1.log\n"
            "  results: test_tipc/results/python_mv3_results_fp32.txt (fp32: atol=0.001, rtol=0.001)\n"
            "\n"
            "image                         expected                                  obtained            max abs diff\n"
            "----------------------------  ----------------------------------------  ------------------  ------------\n"
            'ILSVRC2012_val_00000001.JPEG  {"class_ids": [65, 58], "scores": [0....  (missing from log)  -\n'
            "ILSVRC2012_val_00000002.JPEG  .scores[0]: 0.5011                        .scores[0]: 0.4211  0.08\n"
            "\n" + UPDATE_HINT)
        assert verdict.update is None

    def test_short_values_show_whole(self, repo: Path) -> None:
        put(repo / "test_tipc/results/python_m_results_fp16.txt", "./a.jpg\t[0.5, 0.25]\n")
        verdict = check(repo, "INFO: a.jpg\t[0.5, 0.5]\n", model="m", precision="fp16")
        assert "a.jpg  [0.5, 0.25]  [0.5, 0.5]  0.25\n" in verdict.message
        assert "(fp16: atol=0.05, rtol=0.05)" in verdict.message

    def test_metric_form_mismatch(self, repo: Path) -> None:
        put(repo / "test_tipc/results/python_seg_results_fp32.txt", SEG_GT)
        assert check(repo, SEG_LOG, model="seg").passed
        verdict = check(repo, SEG_LOG.replace("mIoU: 0.8725", "mIoU: 0.8012"), model="seg")
        assert not verdict.passed
        assert "stored results differ for 1 of 4 metrics\n" in verdict.message
        assert "metric  expected            obtained  max abs diff\n" in verdict.message
        assert "mIoU    0.8725311260007227  0.8012    0.0713311\n" in verdict.message

    def test_missing_log(self, repo: Path) -> None:
        verdict = check_results(log_path=repo / "absent.log", results_dir=repo / "test_tipc/results", model="m",
                                precision="fp32", root=repo)
        assert not verdict.passed
        assert verdict.message.startswith("inference log absent.log cannot be read (")
        assert verdict.message.endswith("no stored-results comparison was possible. "
                                        "Fix: look at the inference step's failure first.")

    def test_malformed_results_file(self, repo: Path) -> None:
        put(repo / "test_tipc/results/python_m_results_fp32.txt", "a.jpg\t[1]\nb.jpg\t{oops\n")
        verdict = check(repo, "a.jpg\t[1]\n", model="m")
        assert not verdict.passed
        assert verdict.message == ("test_tipc/results/python_m_results_fp32.txt:2: the result of b.jpg is not JSON "
                                   "nor space-separated ints: {oops. Fix: store the JSON the inference script prints")

    def test_no_results_at_all_is_not_configured(self, repo: Path) -> None:
        verdict = check(repo, OCR_LOG, model="other")
        assert verdict.passed and not verdict.configured and verdict.metrics() == {}

    def test_missing_precision_file(self, repo: Path) -> None:
        put(repo / "test_tipc/results/python_mv3_results_fp32.txt", CLS_GT)
        verdict = check(repo, CLS_GT, precision="int8", log_name="python_infer_cpu_int8_bs1.log")
        assert not verdict.passed
        assert verdict.message == (
            "no stored int8 results for mv3: expected test_tipc/results/python_mv3_results_int8.txt "
            "(found test_tipc/results/python_mv3_results_fp32.txt).\n"
            "To create it from test_tipc/output/python_infer_cpu_int8_bs1.log: rerun with --tipc-update "
            "(the item fails once) or --tipc-update-all (it passes).")

    def test_file_selection(self, repo: Path) -> None:
        results = repo / "test_tipc/results"
        for name in ("python_mv3_results_fp32.txt", "python_mv3_large_results_fp32.txt",
                     "cpp_mv3_results_fp32.txt", "python_ppocr_det_mobile_results_fp16.txt"):
            put(results / name, "a\t[1]\n")
        assert select_results_file(results, "mv3", "fp32") == results / "python_mv3_results_fp32.txt"
        assert select_results_file(results, "mv3", "fp32", kind="cpp") == results / "cpp_mv3_results_fp32.txt"
        assert select_results_file(results, "mv3", "fp16") is None
        # A repo whose file names don't carry the config's model name: an explicit glob.
        assert (select_results_file(results, "ch_ppocr_mobile_v2.0_det", "fp16", pattern="python_ppocr_det_*")
                == results / "python_ppocr_det_mobile_results_fp16.txt")


class TestUpdates:
    def test_update_failing_rewrites_only_failing_entries_and_fails(self, repo: Path) -> None:
        gt = put(repo / "test_tipc/results/python_mv3_results_fp32.txt", CLS_GT)
        log = (cls_line("ILSVRC2012_val_00000001.JPEG", (0.91235, 0.0312))
               + cls_line("ILSVRC2012_val_00000002.JPEG", (0.4211, 0.2101), (795, 792), ("ski", "shovel")))
        verdict = check(repo, log, update="failing")
        assert not verdict.passed
        assert verdict.message.endswith(
            "--tipc-update: 1 failing entry of test_tipc/results/python_mv3_results_fp32.txt will be rewritten "
            "at the end of the session; rerun without it to check.")
        assert gt.read_text() == CLS_GT  # nothing is written by the item itself
        queue = UpdateQueue()
        queue.add(verdict.update)
        assert queue.flush() == [gt]
        lines = gt.read_text().splitlines()
        assert lines[0] == CLS_GT.splitlines()[0]  # within tolerance: kept as stored
        assert lines[1] == ("./demo/ILSVRC2012_val_00000002.JPEG\t"
                            '{"class_ids": [795, 792], "scores": [0.4211, 0.2101], "label_names": ["ski", "shovel"]}')
        assert check(repo, log).passed

    def test_update_failing_keeps_entries_missing_from_the_log(self, repo: Path) -> None:
        put(repo / "test_tipc/results/python_mv3_results_fp32.txt", CLS_GT)
        verdict = check(repo, cls_line("ILSVRC2012_val_00000002.JPEG", (0.4, 0.2), (795, 792), ("ski", "shovel")),
                        update="failing")
        assert verdict.message.endswith(
            "will be rewritten at the end of the session; rerun without it to check. 1 entry is missing from the "
            "log and kept.")
        assert verdict.update is not None and [e[0] for e in verdict.update["entries"]] == [
            "ILSVRC2012_val_00000002.JPEG"]

    def test_update_all_rewrites_everything_and_passes(self, repo: Path) -> None:
        gt = put(repo / "test_tipc/results/python_mv3_results_fp32.txt", CLS_GT)
        log = (cls_line("ILSVRC2012_val_00000002.JPEG", (0.4211, 0.2101), (795, 792), ("ski", "shovel"))
               + cls_line("ILSVRC2012_val_00000003.JPEG", (0.7, 0.1), (230, 231), ("sheepdog", "collie")))
        verdict = check(repo, log, update="all")
        assert verdict.passed
        assert verdict.message.endswith("--tipc-update-all: the entries of test_tipc/results/python_mv3_results_fp32"
                                        ".txt found in test_tipc/output/python_infer_cpu_fp32_bs1.log are rewritten at "
                                        "the end of the session; the others are kept.")
        assert verdict.message.startswith("stored results differ for 2 of 2 images")  # still shown
        UpdateQueue().flush()  # an empty queue writes nothing
        queue = UpdateQueue()
        queue.add(verdict.update)
        queue.flush()
        lines = gt.read_text().splitlines()
        assert [line.split("\t")[0] for line in lines] == [
            "./demo/ILSVRC2012_val_00000001.JPEG", "./demo/ILSVRC2012_val_00000002.JPEG",
            "ILSVRC2012_val_00000003.JPEG"]  # 1 is kept (not produced, never deleted), 3 is new
        assert queue.changes[0].summary() == "added 1, changed 1, kept 1 (1 not produced by this run)"
        after = check(repo, log).comparison
        assert after is not None and [row.key for row in after.failures] == ["ILSVRC2012_val_00000001.JPEG"]

    def test_update_all_on_a_passing_file_rewrites_it(self, repo: Path) -> None:
        put(repo / "test_tipc/results/python_ppocr_det_results_fp32.txt", OCR_GT)
        verdict = check(repo, OCR_LOG, model="ppocr_det", update="all")
        assert verdict.passed and verdict.update is not None and verdict.update["mode"] == "replace"
        assert verdict.message == ("--tipc-update-all: the entries of test_tipc/results/python_ppocr_det_results_"
                                   "fp32.txt found in test_tipc/output/python_infer_cpu_fp32_bs1.log are rewritten at "
                                   "the end of the session; the others are kept.")

    def test_update_all_fixes_a_malformed_file(self, repo: Path) -> None:
        gt = put(repo / "test_tipc/results/python_ppocr_det_results_fp32.txt", "broken line without tab\n")
        verdict = check(repo, OCR_LOG, model="ppocr_det", update="all")
        assert verdict.passed
        queue = UpdateQueue()
        queue.add(verdict.update)
        queue.flush()
        assert load_results(gt).entries.keys() == {"00008790.jpg", "00018069.jpg", "img_10.jpg"}
        aside = gt.with_name(gt.name + ".before-update")  # the unreadable old text is moved aside, not lost
        assert aside.read_text() == "broken line without tab\n"
        assert queue.changes[0].summary() == "added 3, changed 0, kept 0; its unreadable old text is in " + aside.name

    @pytest.mark.parametrize("update", ["failing", "all"])
    def test_missing_file_is_created(self, repo: Path, update: str) -> None:
        put(repo / "test_tipc/results/python_mv3_results_fp32.txt", CLS_GT)
        verdict = check(repo, OCR_LOG, precision="fp16", update=update)
        created = ("test_tipc/results/python_mv3_results_fp16.txt did not exist; it is created at the end of the "
                   "session with 3 entries from test_tipc/output/python_infer_cpu_fp32_bs1.log")
        if update == "all":
            assert verdict.passed and verdict.message == created + "."
        else:
            assert not verdict.passed
            assert verdict.message == created + "; rerun without --tipc-update to check against it."
        queue = UpdateQueue()
        queue.add(verdict.update)
        [path] = queue.flush()
        assert path == repo / "test_tipc/results/python_mv3_results_fp16.txt"
        assert path.read_text().splitlines()[2] == "img_10.jpg\t[[[118, 43], [176, 43], [176, 62], [118, 62]]]"
        assert check(repo, OCR_LOG, precision="fp16").passed

    def test_missing_file_and_no_result_lines(self, repo: Path) -> None:
        put(repo / "test_tipc/results/python_mv3_results_fp32.txt", CLS_GT)
        verdict = check(repo, "nothing here\n", precision="fp16", update="failing")
        assert not verdict.passed and verdict.update is None
        assert verdict.message == (
            "no stored fp16 results for mv3 (test_tipc/results/python_mv3_results_fp16.txt does not exist), and "
            "test_tipc/output/python_infer_cpu_fp32_bs1.log has no `<image>\\t<json>` result line to create it "
            "from. Fix: make the inference script print one such line per image.")

    def test_update_on_a_model_without_results_and_without_result_lines(self, repo: Path) -> None:
        verdict = check(repo, "nothing here\n", update="all")
        assert verdict.passed and not verdict.configured and verdict.update is None

    def test_update_mode(self) -> None:
        assert update_mode(False, False) == "none"
        assert update_mode(True, False) == "failing"
        assert update_mode(True, True) == update_mode(False, True) == "all"

    def test_metric_form_update(self, repo: Path) -> None:
        gt = put(repo / "test_tipc/results/python_seg_results_fp32.txt", SEG_GT)
        log = SEG_LOG.replace("mIoU: 0.8725", "mIoU: 0.8012")
        verdict = check(repo, log, model="seg", update="failing")
        queue = UpdateQueue()
        queue.add(verdict.update)
        queue.flush()
        assert gt.read_text() == SEG_GT.replace("mIoU: 0.8725311260007227", "mIoU: 0.8012")
        assert check(repo, log, model="seg").passed


class TestQueue:
    def request(self, path: Path, owner: str, entries: list[list[str]], mode: str = "patch") -> UpdateRequest:
        return UpdateRequest(path=str(path), form="image", mode=mode, owner=owner, entries=entries)

    def test_smallest_nodeid_wins_whatever_the_order(self, tmp_path: Path) -> None:
        gt = put(tmp_path / "python_m_results_fp32.txt", "./a.jpg\t[1]\n./b.jpg\t[2]\n")
        a = self.request(gt, "cfg.txt::infer[cpu-fp32-bs1]", [["a.jpg", "a.jpg", "[10]"]])
        b = self.request(gt, "cfg.txt::infer[gpu-fp32-bs1]", [["a.jpg", "a.jpg", "[20]"], ["b.jpg", "b.jpg", "[30]"]])
        assert merge_file(gt.read_text(), [a, b]) == merge_file(gt.read_text(), [b, a]) == (
            "./a.jpg\t[10]\n./b.jpg\t[30]\n")

    def test_workers_ship_requests_to_one_writer(self, tmp_path: Path) -> None:
        """Two xdist workers each dump their queue into workeroutput (JSON-able); the controller
        loads both and is the only process that writes."""
        gt = put(tmp_path / "python_m_results_fp32.txt", "./a.jpg\t[1]\n./b.jpg\t[2]\n")
        worker1, worker2, controller = UpdateQueue(), UpdateQueue(), UpdateQueue()
        worker1.add(self.request(gt, "t::infer[gpu]", [["a.jpg", "a.jpg", "[20]"]]))
        worker2.add(self.request(gt, "t::infer[cpu]", [["a.jpg", "a.jpg", "[10]"], ["c.jpg", "c.jpg", "[3]"]]))
        worker2.add(None)
        workeroutput = [{WORKEROUTPUT_KEY: json.loads(json.dumps(q.dump()))} for q in (worker1, worker2)]
        for output in workeroutput:
            controller.load(output.get(WORKEROUTPUT_KEY))
        controller.load(None)
        assert len(controller) == 2
        assert controller.flush() == [gt]
        assert gt.read_text() == "./a.jpg\t[10]\n./b.jpg\t[2]\nc.jpg\t[3]\n"
        assert len(controller) == 0

    def test_a_file_that_cannot_be_written_is_reported(self, tmp_path: Path) -> None:
        blocker = put(tmp_path / "not_a_dir", "")
        good = tmp_path / "python_m_results_fp32.txt"
        queue = UpdateQueue()
        queue.add(self.request(blocker / "python_m_results_fp16.txt", "t::a", [["a.jpg", "a.jpg", "[1]"]], "replace"))
        queue.add(self.request(good, "t::b", [["a.jpg", "a.jpg", "[1]"]], "replace"))
        assert queue.flush() == [good]
        [error] = queue.errors
        assert error.startswith(f"{blocker / 'python_m_results_fp16.txt'}: cannot be written (")

    def test_atomic_write_leaves_no_temporary_file(self, tmp_path: Path) -> None:
        target = tmp_path / "results" / "python_m_results_fp32.txt"
        write_atomic(target, "a\t[1]\n")
        write_atomic(target, "a\t[2]\n")
        assert target.read_text() == "a\t[2]\n"
        assert os.listdir(target.parent) == [target.name]

    def test_failed_write_keeps_the_old_file(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        target = put(tmp_path / "python_m_results_fp32.txt", "old\t[1]\n")

        def boom(src: str, dst: str) -> None:
            raise OSError("disk full")

        monkeypatch.setattr(os, "replace", boom)
        with pytest.raises(OSError, match="disk full"):
            write_atomic(target, "new\t[2]\n")
        assert target.read_text() == "old\t[1]\n"
        assert os.listdir(tmp_path) == [target.name]


def test_update_requests_travel_from_xdist_workers_to_one_writer(pytester: pytest.Pytester) -> None:
    """The plugin's wiring in miniature: four items on two workers check one results file with
    update="failing"; the workers ship their requests in workeroutput and only the controller
    writes. The rerun without the flag passes."""
    pytest.importorskip("xdist")
    results = pytester.path / "test_tipc" / "results"
    put(results / "python_m_results_fp32.txt", "./a.jpg\t[1.0]\n./b.jpg\t[2.0]\n./c.jpg\t[3.0]\n./d.jpg\t[4.0]\n")
    pytester.makeconftest(textwrap.dedent("""
        import pytest
        from pytest_tipc.verdicts.results.compare import WORKEROUTPUT_KEY, UpdateQueue

        QUEUE = UpdateQueue()

        def pytest_addoption(parser):
            parser.addoption("--update", action="store_true")

        @pytest.fixture
        def queue():
            return QUEUE

        def pytest_sessionfinish(session):
            if hasattr(session.config, "workerinput"):
                session.config.workeroutput[WORKEROUTPUT_KEY] = QUEUE.dump()
            else:
                QUEUE.flush()

        @pytest.hookimpl(optionalhook=True)
        def pytest_testnodedown(node, error):
            QUEUE.load(node.workeroutput.get(WORKEROUTPUT_KEY))
    """))
    pytester.makepyfile(textwrap.dedent("""
        import pytest
        from pytest_tipc.verdicts.results.compare import check_results

        @pytest.mark.parametrize("image", ["a", "b", "c", "d"])
        def test_cell(image, queue, request, tmp_path):
            values = {"a": 1.5, "b": 2.0, "c": 3.5, "d": 4.0}
            log = tmp_path / "python_infer.log"
            log.write_text("".join(f"INFO: {k}.jpg\\t[{v}]\\n" for k, v in values.items()))
            verdict = check_results(log_path=log, results_dir="test_tipc/results", model="m", precision="fp32",
                                    update="failing" if request.config.getoption("update") else "none",
                                    owner=request.node.nodeid)
            queue.add(verdict.update)
            if not verdict.passed:
                pytest.fail(verdict.message, pytrace=False)
    """))
    first = pytester.runpytest_subprocess("-n", "2", "--update", "-p", "no:cacheprovider")
    first.assert_outcomes(failed=4)
    first.stdout.fnmatch_lines(["*--tipc-update: 2 failing entries of *python_m_results_fp32.txt will be rewritten*"])
    assert (results / "python_m_results_fp32.txt").read_text() == (
        "./a.jpg\t[1.5]\n./b.jpg\t[2.0]\n./c.jpg\t[3.5]\n./d.jpg\t[4.0]\n")
    assert sorted(p.name for p in results.iterdir()) == ["python_m_results_fp32.txt"]
    pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider").assert_outcomes(passed=4)

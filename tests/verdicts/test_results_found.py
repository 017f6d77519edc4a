"""Stored results found per model (ini map, PaddleOCR's naming convention), and a whole_infer cell
that finds none says so instead of passing silently (issue 16)."""

# ruff: noqa: F811 - the `repo` fixture is imported from tests.support.tiny_repo and used as an argument

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tipc.verdicts.results.compare import check_results
from pytest_tipc.verdicts.results.locate import convention_files, locate_results
from tests.support import tiny_repo
from tests.support.tiny_repo import config, repo  # noqa: F401 - repo: the fixture

pytest_plugins = ["pytester"]
MATCHING = 'img1.jpg\t{"class_ids": [1, 0], "scores": [0.5, 0.5]}\n'  # what tool.py infer prints
DIFFERENT = 'img1.jpg\t{"class_ids": [1, 0], "scores": [0.9, 0.1]}\n'


def touch(directory: Path, *names: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / name).write_text(MATCHING)


class TestConvention:
    def test_paddleocr_det_file_is_found_by_the_words_of_the_model_name(self, tmp_path: Path) -> None:
        touch(tmp_path, "python_ppocr_det_mobile_results_fp32.txt", "python_ppocr_det_mobile_results_fp16.txt",
              "python_ppocr_rec_mobile_results_fp32.txt", "cpp_ppocr_det_mobile_results_fp32.txt")
        assert [p.name for p in convention_files(tmp_path, "ch_ppocr_mobile_v2.0_det")] == [
            "python_ppocr_det_mobile_results_fp16.txt", "python_ppocr_det_mobile_results_fp32.txt"]
        assert locate_results(tmp_path, "ch_ppocr_mobile_v2.0_det", "fp32").path == (
            tmp_path / "python_ppocr_det_mobile_results_fp32.txt")
        assert convention_files(tmp_path, "ch_ppocr_server_v2.0_det") == []  # "mobile" is not in its name
        assert [p.name for p in convention_files(tmp_path, "ch_ppocr_mobile_v2.0_rec")] == [
            "python_ppocr_rec_mobile_results_fp32.txt"]

    def test_a_pattern_finds_results_files_only(self, tmp_path: Path) -> None:
        touch(tmp_path, "python_m_results_fp32.txt", "python_m_results_fp32.txt.before-update")
        assert locate_results(tmp_path, "x", "fp32", pattern="python_m_*").path == tmp_path / "python_m_results_fp32.txt"

    def test_two_names_that_fit_equally_are_not_guessed(self, tmp_path: Path) -> None:
        touch(tmp_path, "python_ppocr_det_results_fp32.txt", "python_ppocr_mobile_results_fp32.txt")
        assert convention_files(tmp_path, "ch_ppocr_mobile_v2.0_det") == []

    def test_the_longest_fitting_name_wins(self, tmp_path: Path) -> None:
        touch(tmp_path, "python_ppocr_results_fp32.txt", "python_ppocr_det_mobile_results_fp32.txt")
        assert [p.name for p in convention_files(tmp_path, "ch_ppocr_mobile_v2.0_det")] == [
            "python_ppocr_det_mobile_results_fp32.txt"]

    def test_no_file_is_not_compared_and_says_what_was_tried(self, tmp_path: Path) -> None:
        results = tmp_path / "test_tipc" / "results"
        touch(results, "python_other_results_fp32.txt")
        log = tmp_path / "infer.log"
        log.write_text(MATCHING)
        verdict = check_results(log_path=log, results_dir=results, model="tiny", precision="fp32", root=tmp_path)
        assert verdict.passed and not verdict.configured
        assert verdict.not_compared.startswith(
            "no stored results for tiny in test_tipc/results/ (tried python_tiny_results_fp32.txt, "
            "python_*_tiny_*.txt, python_<words of tiny>_results_fp32.txt), so nothing was compared. Fix: name "
            "its file in the ini option tipc_results_map")


def whole_infer(repo: pytest.Pytester, results: dict[str, str], model: str = "tiny") -> Path:
    (repo.path / "pretrained").mkdir()
    (repo.path / "pretrained" / "inference.json").write_text("{}")
    (repo.path / "pretrained" / "inference.pdiparams").write_text("p")
    directory = repo.path / "test_tipc" / "results"
    directory.mkdir(parents=True)
    for name, text in results.items():
        (directory / name).write_text(text)
    return config(repo, {2: f"model_name:{model}", 37: "infer_model:./pretrained", 38: "infer_export:null"})


def run(repo: pytest.Pytester, cfg: Path, *args: str) -> pytest.RunResult:
    return tiny_repo.run(repo, cfg, "--tipc-mode", "whole_infer", *args)


def test_a_cell_without_stored_results_says_not_compared(repo: pytest.Pytester) -> None:
    cfg = whole_infer(repo, {"python_other_results_fp32.txt": DIFFERENT})
    result = run(repo, cfg, "--junitxml", "j.xml", "--tipc-report", "r.md", "-v")
    result.assert_outcomes(passed=2, warnings=1)
    out = result.stdout.str()
    assert "results not compared" in out  # the tipc summary's line of the cell (-v lists passed cells)
    assert "ResultsNotCompared: no stored results for tiny in test_tipc/results/ (tried " in out
    xml = (repo.path / "j.xml").read_text()
    assert 'name="tipc_results" value="not compared: no stored results for tiny' in xml
    assert "results not compared" in (repo.path / "r.cells.md").read_text()


def test_the_ini_map_points_a_model_to_its_file(repo: pytest.Pytester) -> None:
    cfg = whole_infer(repo, {"python_mapped_results_fp32.txt": DIFFERENT})
    repo.makeini("[pytest]\ntipc_results_map =\n    other = python_nothing_*.txt\n"
                 "    tiny = python_mapped_results_*.txt\n")
    result = run(repo, cfg)
    result.assert_outcomes(passed=1, failed=1)
    assert "stored results differ for 1 of 1 images" in result.stdout.str()
    (repo.path / "test_tipc" / "results" / "python_mapped_results_fp32.txt").write_text(MATCHING)
    result = run(repo, cfg, "--tipc-report", "r.md")
    result.assert_outcomes(passed=2)
    assert "results 1/1 ok" in (repo.path / "r.cells.md").read_text()


def test_a_bad_map_line_is_a_usage_error(repo: pytest.Pytester) -> None:
    cfg = whole_infer(repo, {})
    repo.makeini("[pytest]\ntipc_results_map =\n    tiny python_mapped_results_*.txt\n")
    result = run(repo, cfg)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "ini option tipc_results_map in " in result.stderr.str()
    assert "'tiny python_mapped_results_*.txt' is not `model = glob`" in result.stderr.str()


def test_paddleocr_naming_is_found_without_configuration(repo: pytest.Pytester) -> None:
    cfg = whole_infer(repo, {"python_tiny_det_results_fp32.txt": DIFFERENT}, model="ch_tiny_mobile_v2.0_det")
    result = run(repo, cfg)
    result.assert_outcomes(passed=1, failed=1)
    assert "results: test_tipc/results/python_tiny_det_results_fp32.txt (fp32" in result.stdout.str()

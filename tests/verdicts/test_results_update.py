"""--tipc-update-all never deletes what it did not reproduce, says per file what it changed, and
does not pass cells that disagree on one stored entry (issue 16)."""

# ruff: noqa: F811 - the `repo` fixture is imported from tests.support.tiny_repo and used as an argument

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_tipc.verdicts.results.baselines import UpdateQueue, UpdateRequest, merge
from pytest_tipc.verdicts.results.compare import check_results
from tests.support import tiny_repo
from tests.support.tiny_repo import config, repo  # noqa: F401 - repo: the fixture

pytest_plugins = ["pytester"]
RESULTS = "test_tipc/results/python_tiny_results_fp32.txt"


def ocr_line(name: str, shift: int = 0) -> str:
    return f"./inference/ch_det_data_50/all-sum-510/{name}\t" + json.dumps([[[10 + shift, 20], [30, 20], [30, 40]]])


def test_update_all_keeps_the_46_entries_it_did_not_reproduce(tmp_path: Path) -> None:
    """PaddleOCR's 49-entry det file, a run that saw 3 images (each box moved): the measurement."""
    names = [f"{i:05d}.jpg" for i in range(49)]
    gt = tmp_path / "test_tipc" / "results" / "python_ppocr_det_mobile_results_fp32.txt"
    gt.parent.mkdir(parents=True)
    gt.write_text("".join(ocr_line(n) + "\n" for n in names))
    log = tmp_path / "python_infer_cpu_usemkldnn_False_threads_1_precision_fp32_batchsize_1.log"
    log.write_text("".join(ocr_line(n, 5).replace("./inference/ch_det_data_50/all-sum-510/", "") + "\n"
                           for n in names[:3]))
    verdict = check_results(log_path=log, results_dir=gt.parent, model="ppocr_det_mobile", precision="fp32",
                            update="all", owner="c::infer[bs1]")
    queue = UpdateQueue()
    queue.add(verdict.update)
    assert queue.flush() == [gt]
    [change] = queue.changes
    assert change.summary() == "added 0, changed 3, kept 46 (46 not produced by this run)"
    lines = gt.read_text().splitlines()
    assert len(lines) == 49 and lines[3:] == [ocr_line(n) for n in names[3:]]
    assert lines[0] == ocr_line(names[0], 5)  # its label (the image path as written) stays


def request(owner: str, entries: list[list[str]], path: str = "python_m_results_fp32.txt") -> UpdateRequest:
    return UpdateRequest(path=path, form="image", mode="replace", owner=owner, entries=entries)


def test_cells_that_disagree_beyond_the_tolerance_are_a_conflict() -> None:
    bs1 = request("c::infer[bs1]", [["a.jpg", "a.jpg", "[0.5]"], ["b.jpg", "b.jpg", "[0.1]"]])
    bs2 = request("c::infer[bs2]", [["a.jpg", "a.jpg", "[0.6]"], ["b.jpg", "b.jpg", "[0.1000001]"]])
    text, change = merge(None, [bs2, bs1])
    assert text == "a.jpg\t[0.5]\nb.jpg\t[0.1]\n"  # the smallest node id's values
    assert change.conflicts == ["a.jpg: c::infer[bs1] gives [0.5], c::infer[bs2] gives [0.6]"]  # b is within 1e-3
    queue = UpdateQueue()
    assert queue.add(bs1) == []
    assert queue.add(bs2) == ["a.jpg: c::infer[bs2] gives [0.6], c::infer[bs1] gives [0.5]"]


# An inference script whose scores depend on the batch size, as a det model's padded batches can.
BS_INFER = """import sys
args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
bs = int(args.get("batch-size", 1))
for name in ("img1.jpg", "img2.jpg"):
    print(name + "\\t" + '{"class_ids": [1], "scores": [%s]}' % (0.5 + 0.1 * (bs - 1)))
"""


def whole_infer_repo(repo: pytest.Pytester, stored: str, batch_sizes: str = "1") -> Path:
    (repo.path / "pretrained").mkdir()
    (repo.path / "pretrained" / "inference.json").write_text("{}")
    (repo.path / "pretrained" / "inference.pdiparams").write_text("p")
    (repo.path / "bs_infer.py").write_text(BS_INFER)
    results = repo.path / RESULTS
    results.parent.mkdir(parents=True)
    results.write_text(stored)
    return config(repo, {37: "infer_model:./pretrained", 38: "infer_export:null", 40: "inference:bs_infer.py",
                         44: f"--batch-size:{batch_sizes}"})


def test_update_all_in_a_session_says_what_it_changed(repo: pytest.Pytester) -> None:
    kept = "".join(f"other{i}.jpg\t{{\"class_ids\": [2], \"scores\": [0.9]}}\n" for i in range(47))
    cfg = whole_infer_repo(repo, 'img1.jpg\t{"class_ids": [1], "scores": [0.2]}\n' + kept)
    result = tiny_repo.run(repo, cfg, "--tipc-mode", "whole_infer", "--tipc-update-all")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([f"tipc: stored results {RESULTS}: added 1, changed 1, kept 47 "
                                 "(47 not produced by this run)"])
    text = (repo.path / RESULTS).read_text()
    assert text.count("\n") == 49 and kept in text


def test_update_all_fails_the_cells_that_disagree(repo: pytest.Pytester) -> None:
    cfg = whole_infer_repo(repo, 'img1.jpg\t{"class_ids": [1], "scores": [0.2]}\n', batch_sizes="1|2")
    result = tiny_repo.run(repo, cfg, "--tipc-mode", "whole_infer", "--tipc-update-all", "-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str()
    assert "cells disagree on 2 entries of test_tipc/results/python_tiny_results_fp32.txt" in out
    assert f"tipc: cells disagree in {RESULTS}: img1.jpg: " in out
    assert result.ret == 1
    # the next plain run fails the same cell, and only it: update-all did not call it passed
    tiny_repo.run(repo, cfg, "--tipc-mode", "whole_infer").assert_outcomes(passed=2, failed=1)


def test_a_conflict_across_xdist_workers_fails_the_session(repo: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    cfg = whole_infer_repo(repo, 'img1.jpg\t{"class_ids": [1], "scores": [0.2]}\n', batch_sizes="1|2")
    result = tiny_repo.run(repo, cfg, "--tipc-mode", "whole_infer", "--tipc-update-all", "-n", "2",
                           subprocess=True)
    assert result.ret == 1
    assert f"tipc: cells disagree in {RESULTS}: img1.jpg: " in result.stdout.str()


def test_the_next_plain_run_passes_on_what_update_all_kept(repo: pytest.Pytester) -> None:
    """The 47 kept entries are images this run was not given (its image dir holds img1 and img2):
    not compared, so the plain run after --tipc-update-all passes; an image it was given but did
    not print still fails."""
    kept = "".join(f"other{i}.jpg\t{{\"class_ids\": [2], \"scores\": [0.9]}}\n" for i in range(47))
    cfg = whole_infer_repo(repo, 'img1.jpg\t{"class_ids": [1], "scores": [0.2]}\n' + kept)
    cfg.write_text(cfg.read_text().replace("--img-dir:./images", "--image_dir:./images"))
    for name in ("img1.jpg", "img2.jpg"):
        (repo.path / "images" / name).write_bytes(b"jpeg")
    tiny_repo.run(repo, cfg, "--tipc-mode", "whole_infer", "--tipc-update-all").assert_outcomes(passed=2)
    result = tiny_repo.run(repo, cfg, "--tipc-mode", "whole_infer", "-rA", "--junitxml", "j.xml")
    result.assert_outcomes(passed=2)
    assert (f"47 of the 49 stored images of {RESULTS} are neither in test_tipc/output/" in result.stdout.str())
    assert 'name="tipc_results_unseen" value="47"' in (repo.path / "j.xml").read_text()
    (repo.path / "images" / "other0.jpg").write_bytes(b"jpeg")  # given, but the script does not print it
    result = tiny_repo.run(repo, cfg, "--tipc-mode", "whole_infer")
    result.assert_outcomes(passed=1, failed=1)
    assert "other0.jpg" in result.stdout.str() and "missing from log" in result.stdout.str()

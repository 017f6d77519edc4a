"""results_python.log lines, byte for byte as the harness's ``status_check`` writes them."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from pytest_tipc.layout import FILENAME, append_status, status_line

OCR_CMD = "python3.7 tools/eval.py -c x.yml -o Global.checkpoints=./test_tipc/output/m/lite/norm/latest"
LOG = "./test_tipc/output/m/lite/eval.log"


def test_ocr_line_matches_the_harness() -> None:
    # common_func.sh: echo -e "\033[33m Run successfully with command - ${model_name} - ${run_command} - ${log_path} \033[0m"
    status = f"Run {{verdict}} with command - m - {OCR_CMD} > {LOG} 2>&1  - {LOG} "
    assert status_line(status, True) == (
        f"\x1b[33m Run successfully with command - m - {OCR_CMD} > {LOG} 2>&1  - {LOG} \x1b[0m\n")
    assert status_line(status, False).startswith("\x1b[33m Run failed with command - m - ")


def test_family_padding_is_kept() -> None:
    # Clas: "… - ${log_path} ! \033[0m"; Seg/Det: "… - ${log_path}  \033[0m"
    assert status_line("Run {verdict} with command - m - c - l ! ", True) == \
        "\x1b[33m Run successfully with command - m - c - l ! \x1b[0m\n"
    assert status_line("Run {verdict} with command - m - c - l  ", False) == \
        "\x1b[33m Run failed with command - m - c - l  \x1b[0m\n"


def test_braces_in_commands_survive() -> None:
    status = "Run {verdict} with command - m - python infer.py --random_infer_input=[{float32,[3,640,640]}] - l "
    assert "[{float32,[3,640,640]}]" in status_line(status, True)


def test_append_and_no_line_without_status(tmp_path: Path) -> None:
    append_status(tmp_path / "m" / "lite", "Run {verdict} with command - a ", True)
    append_status(tmp_path / "m" / "lite", "", False)
    append_status(tmp_path / "m" / "lite", "Run {verdict} with command - b ", False)
    text = (tmp_path / "m" / "lite" / FILENAME).read_text()
    assert text == ("\x1b[33m Run successfully with command - a \x1b[0m\n"
                    "\x1b[33m Run failed with command - b \x1b[0m\n")


def _writer(args: tuple[Path, int]) -> None:
    log_dir, worker = args
    for i in range(300):
        append_status(log_dir, f"Run {{verdict}} with command - worker{worker} line{i} " + "x" * 3000 + " ", True)


def test_concurrent_writers_never_interleave(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_writer, [(tmp_path, w) for w in range(4)])
    lines = (tmp_path / FILENAME).read_text().splitlines()
    assert len(lines) == 1200
    for line in lines:
        assert line.startswith("\x1b[33m Run successfully with command - worker") and line.endswith("x \x1b[0m")
        assert line.count("\x1b[33m") == 1


def test_a_step_the_plugin_failed_carries_its_reason() -> None:
    status = "Run {verdict} with command - python infer.py > infer.log 2>&1  "
    assert status_line(status, False, "step infer exited 0 but\nproduced no inference output") == (
        "\033[33m Run failed with command - python infer.py > infer.log 2>&1  "
        "[tipc] step infer exited 0 but produced no inference output \033[0m\n")
    assert status_line(status, True) == "\033[33m Run successfully with command - python infer.py > infer.log 2>&1  \033[0m\n"

"""``--tipc-rehearse cpu``: GPU-only configs run on CPU with their own rows, changed in memory only.

Each family spells its device rows its own way; the dry runs below check the commands each one
records (``--tipc-record``) for a GPU-only config (``gpu_list:0|0,1``) of the docs template, OCR,
Clas, Seg and Det. The real runs use the tiny repo's stand-in tool; the bundled model's real
rehearsal is in tests/reference/test_rehearsal.py.
"""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_tipc.model.cells import Cell, Launch, Plan, Step, infer_cell, train_cell
from pytest_tipc.model.record import make_record
from pytest_tipc.planning.rehearse import cpu_words, rehearse
from pytest_tipc.reporting.matrix import build
from pytest_tipc.reporting.report import render_markdown
from tests.support.conformance import conformance_dir
from tests.support.tiny_repo import OUT, config, repo, run

pytest_plugins = ["pytester"]
__all__ = ["repo"]

# The tiny template config made GPU-only: training on one card and on two, inference on GPU
# (with TensorRT and fp16 variants, which have no CPU rehearsal) and on CPU.
GPU_ONLY = {4: "gpu_list:0|0,1", 5: "--use-gpu:True|True", 41: "--use-gpu:True|False",
            45: "--use-tensorrt:False|True", 46: "--precision:fp32|fp16"}
GPU_WORD = re.compile(r"(use[_-]gpu|device)=(true|gpu)", re.IGNORECASE)


@pytest.fixture(autouse=True)
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine without GPUs, whatever runs the suite (an empty CUDA_VISIBLE_DEVICES hides them all)."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")


def records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def skip_reasons(result: pytest.RunResult) -> list[str]:
    return sorted(re.sub(r"^SKIPPED \[\d+\] [^ ]+: ", "", line) for line in result.outlines if line.startswith("SKIPPED"))


def collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if "::" in line]


def check_rehearsed(recs: list[dict[str, object]]) -> None:
    """No record asks for a GPU; the two-card training launches two CPU processes."""
    assert recs
    for rec in recs:
        argv = [str(word) for word in rec["argv"]]  # type: ignore[attr-defined]
        assert rec["cuda_visible_devices"] is None, rec
        assert not [w for w in argv if GPU_WORD.search(w)], argv
        assert not [w for w in argv if w.split("=")[0] in ("--gpus", "--devices")], argv
    launches = [r["argv"] for r in recs if "paddle.distributed.launch" in r["argv"]]  # type: ignore[operator]
    assert launches and all("--nproc_per_node=2" in argv for argv in launches), launches  # type: ignore[operator]


class TestTemplate:
    def test_gpu_only_config_skips_everything_and_the_last_line_says_rehearse(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, GPU_ONLY)
        result = run(repo, cfg)
        outcomes = result.parseoutcomes()
        assert outcomes.get("skipped", 0) > 0 and "passed" not in outcomes and "failed" not in outcomes
        line = next(x for x in result.outlines if x.startswith("tipc: all "))
        assert f"all {outcomes['skipped']} selected cells were skipped" in line
        assert "--tipc-rehearse cpu" in line
        assert not (repo.path / "counts.txt").exists()  # nothing ran

    def test_dry_run_skips_what_a_real_run_skips_with_the_same_reasons(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, GPU_ONLY)
        real = run(repo, cfg, "-rs")
        dry = run(repo, cfg, "-rs", "--tipc-dry-run", "--tipc-record", "rec.jsonl")
        assert dry.parseoutcomes() == real.parseoutcomes()
        assert "passed" not in dry.parseoutcomes()
        assert skip_reasons(dry) == skip_reasons(real) and any("needs 2 GPUs" in r for r in skip_reasons(dry))
        assert any("tipc: all " in line and "--tipc-rehearse cpu" in line for line in dry.outlines)
        # the record still lists what the cells would run (the parity checks compare it)
        assert len(records(repo.path / "rec.jsonl")) > 0

    def test_rehearsal_keeps_ids_and_rewrites_the_commands(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, GPU_ONLY)
        ids = collected(run(repo, cfg, "--collect-only", "-q"))
        assert collected(run(repo, cfg, "--collect-only", "-q", "--tipc-rehearse", "cpu")) == ids
        result = run(repo, cfg, "--tipc-dry-run", "--tipc-rehearse", "cpu", "--tipc-record", "rec.jsonl", "-rs",
                     "--junitxml", "junit.xml")
        recs = records(repo.path / "rec.jsonl")
        check_rehearsed(recs)
        train = recs[0]["argv"]
        assert train[:3] == ["python", "tool.py", "train"] and "--use-gpu=False" in train  # type: ignore[index,operator]
        assert any("--use-gpu=False" in r["argv"] and "infer" in r["argv"] for r in recs)  # type: ignore[operator]
        # TensorRT and fp16 on GPU have no CPU rehearsal: skipped with their reason, nothing else is
        reasons = skip_reasons(result)
        assert reasons and all("TensorRT runs on GPU only" in r or "fp16 inference runs on GPU only" in r
                               for r in reasons), reasons
        outcomes = result.parseoutcomes()
        assert outcomes["passed"] + outcomes["skipped"] == len(ids)
        props = {case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
                 for case in ET.parse(repo.path / "junit.xml").getroot().iter("testcase")}
        assert props["train[gpu0_1-null-norm_train]"]["tipc_rehearsal"] == "cpu"
        assert props["infer[gpu0-null-norm_train-gpu-fp32-bs1]"]["tipc_rehearsal"] == "cpu"

    def test_rehearsal_marker_and_no_gpu_marker(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, {**GPU_ONLY, 4: "gpu_list:-1|0|0,1", 5: "--use-gpu:False|True|True"})
        rehearsed = collected(run(repo, cfg, "--collect-only", "-q", "--tipc-rehearse", "cpu", "-m", "rehearsal"))
        assert "train[gpu0_1-null-norm_train]" in " ".join(rehearsed)
        # the CPU cells of a CPU training are no rehearsal; its GPU inference is
        assert not [n for n in rehearsed if "train[cpu-" in n or "infer[cpu-null-norm_train-cpu-" in n]
        assert [n for n in rehearsed if "infer[cpu-null-norm_train-gpu-fp32-bs1]" in n]
        assert collected(run(repo, cfg, "--collect-only", "-q", "--tipc-rehearse", "cpu", "-m", "gpu")) == []
        selected = run(repo, cfg, "--collect-only", "-q", "--tipc-rehearse", "cpu", "-m", "tipc(rehearsal='cpu')")
        assert collected(selected) == rehearsed

    def test_real_run_of_a_rehearsed_single_gpu_config(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, {**GPU_ONLY, 4: "gpu_list:0", 5: "--use-gpu:True"})
        result = run(repo, cfg, "--tipc-rehearse", "cpu", "--tipc-record", "rec.jsonl", "-rs")
        outcomes = result.parseoutcomes()
        assert outcomes.get("passed", 0) >= 2 and "failed" not in outcomes, result.stdout.str()[-3000:]
        assert not any(line.startswith("tipc: all ") for line in result.outlines)
        check_rehearsed_real = [r for r in records(repo.path / "rec.jsonl")]
        assert all(r["cuda_visible_devices"] is None for r in check_rehearsed_real)
        status = (repo.path / OUT / "results_python.log").read_text()
        assert "--use-gpu=False" in status and "--use-gpu=True" not in status

    def test_ini_twin_and_a_bad_value(self, repo: pytest.Pytester) -> None:
        cfg = config(repo, GPU_ONLY)
        repo.makeini("[pytest]\ntipc_rehearse = cpu\n")
        assert collected(run(repo, cfg, "--collect-only", "-q", "-m", "rehearsal"))
        repo.makeini("[pytest]\ntipc_rehearse = gpu\n")
        result = run(repo, cfg, "--collect-only", "-q")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        assert "tipc_rehearse = 'gpu': choose one of cpu" in result.stderr.str()


# Upstream configs of each family, made GPU-only by upstream already; the spellings we expect.
FAMILIES = {
    "ocr": ("PaddleOCR/test_tipc/configs/ch_ppocr_mobile_v2_0_det/train_infer_python.txt", "ppocr",
            ["Global.use_gpu=False"], ["--use_gpu=False"]),
    "clas": ("PaddleClas/test_tipc/configs/MobileNetV3/MobileNetV3_small_x1_0_train_infer_python.txt", "ppcls",
             ["Global.device=cpu"], ["Global.use_gpu=False"]),
    "seg": ("PaddleSeg/test_tipc/configs/fcn_hrnetw18_small/train_infer_python.txt", "paddleseg",
            ["--device=cpu"], ["--device=cpu"]),
    "det": ("PaddleDetection/test_tipc/configs/yolov3/yolov3_darknet53_270e_coco_train_infer_python.txt", "ppdet",
            ["use_gpu=False"], ["--device=cpu"]),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_dry_run_rehearses_on_cpu(pytester: pytest.Pytester, family: str) -> None:
    base = conformance_dir()
    if base is None:
        pytest.skip("needs ../shared/conformance beside the checkout")
    source, marker, train_words, infer_words = FAMILIES[family]
    rel = source.split("/", 1)[1]
    target = pytester.path / rel
    target.parent.mkdir(parents=True)
    shutil.copy(base / "configs" / source, target)
    (pytester.path / marker).mkdir()
    before = target.read_bytes()
    args = ("--tipc-config", str(target), "-p", "no:cacheprovider")
    ids = collected(pytester.runpytest(*args, "--collect-only", "-q"))
    result = pytester.runpytest(*args, "--tipc-dry-run", "--tipc-rehearse", "cpu", "--tipc-record", "rec.jsonl", "-rs")
    assert collected(pytester.runpytest(*args, "--collect-only", "-q", "--tipc-rehearse", "cpu")) == ids
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) > 0 and "failed" not in outcomes, result.stdout.str()[-3000:]
    assert all("needs" not in reason for reason in skip_reasons(result)), skip_reasons(result)
    recs = records(pytester.path / "rec.jsonl")
    check_rehearsed(recs)
    words = {str(w) for r in recs for w in r["argv"]}  # type: ignore[attr-defined]
    assert set(train_words) <= words and set(infer_words) <= words, sorted(words)
    assert target.read_bytes() == before  # changed in memory only


# -- the transform and the report, in process ---------------------------------------------------------

def test_cpu_words_every_spelling() -> None:
    words = ["-o", "Global.use_gpu=True", "Global.device=gpu", "--device", "gpu", "--use-gpu=TRUE",
             "use_gpu=true", "--device=gpu:0", "--use_gpu=False", "--gpu_mem=500", "--devices=0,1"]
    assert cpu_words(words) == ["-o", "Global.use_gpu=False", "Global.device=cpu", "--device", "cpu",
                                "--use-gpu=FALSE", "use_gpu=false", "--device=cpu", "--use_gpu=False",
                                "--gpu_mem=500", "--devices=0,1"]


def test_rehearse_a_launch_and_a_trt_cell() -> None:
    argv = ("python", "-m", "paddle.distributed.launch", "--gpus", "0,1", "train.py", "--use_gpu=True")
    step = Step("train", argv, env=(("CUDA_VISIBLE_DEVICES", "0"),), status="Run {verdict} - " + " ".join(argv),
                launch=Launch("0,1", argv_index=1, script_index=5))
    train = train_cell(model="m", mode="lite_train_lite_infer", gpus="0,1", autocast="null", trainer="norm_train",
                       steps=[step])
    trt = infer_cell(parent=train, device="gpu", precision="fp32", batch_size="1", trt="True", steps=[])
    cpu = infer_cell(parent=train, device="cpu", precision="fp32", batch_size="1", steps=[])
    plan = rehearse(Plan("template", "lite_train_lite_infer", "m", "out", (train, trt, cpu)), "cpu")
    new: list[Cell] = list(plan.cells)
    (ran,) = new[0].steps
    assert ran.argv == ("python", "-m", "paddle.distributed.launch", "--nproc_per_node=2", "train.py",
                        "--use_gpu=False")
    assert ran.launch is not None and ran.argv[ran.launch.script_index] == "train.py"
    assert ran.cuda_visible_devices is None and "--use_gpu=False" in ran.status and "--gpus" not in ran.status
    assert [c.key for c in new] == [c.key for c in (train, trt, cpu)]
    assert "TensorRT" in new[1].skip and not new[2].skip
    assert all(c.field_map["rehearsal"] == "cpu" for c in new)
    assert rehearse(plan, "") is plan


def test_report_says_rehearsed_on_cpu_never_supported(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    log.write_text("ok\n")
    rec = make_record(config="c.txt", model="m", mode="lite_train_lite_infer", kind="train", key="gpu0-null-norm_train",
                      dialect="template", fields={"gpus": "0", "trainer": "norm_train", "rehearsal": "cpu"},
                      outcome="passed", log=str(log), nodeid="c.txt::train[gpu0-null-norm_train]")
    (matrix,) = build([rec], tmp_path)
    entry = matrix.training["m"]["single-card"]["normal"]
    assert (entry.status, entry.label) == ("rehearsed", "rehearsed on CPU")
    text = render_markdown([rec], tmp_path)
    assert "[rehearsed on CPU](train.log)" in text and "[supported]" not in text
    from pytest_tipc.reporting.html import render_html

    assert ">rehearsed on CPU<" in render_html([rec], tmp_path)

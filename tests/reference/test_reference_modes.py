"""The reference model's training modes: AMP, PACT quantization-aware training, FPGM pruning."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.support.reference_support import (
    DEMO,
    PACT_PRETRAINED,
    PRETRAINED,
    REPO,
    extract_lite_data,
    final_acc,
    iter_lines,
    model_stats,
    needs_paddle,
    results,
    script,
    state_shapes,
    stored_results,
)

pytestmark = [pytest.mark.slow, needs_paddle]


@pytest.fixture(scope="module")
def lite_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return extract_lite_data(tmp_path_factory.mktemp("data") / "lite_data")


# -- AMP --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("level", ["O1", "O2"])
def test_amp_trains_in_bf16_on_cpu_and_exports_fp32(tmp_path: Path, lite_data: Path, level: str) -> None:
    proc = script("train.py", f"--data-path={lite_data}", "--epochs=1", "--batch-size=16", f"--amp_level={level}",
                  f"--output-dir={tmp_path}", "--use-gpu=False", "--max-iters=8", cwd=REPO)
    assert f"AMP: level {level}, dtype bfloat16 on CPU, emulated" in proc.stdout
    losses = [float(m["loss"]) for m in iter_lines(proc.stdout)]
    assert len(losses) == 8 and all(math.isfinite(v) for v in losses)
    # the checkpoint holds fp32 master weights with the plain network's names and shapes
    assert state_shapes(tmp_path / "latest.pdparams") == state_shapes(PRETRAINED.with_suffix(".pdparams"))
    script("export_model.py", f"--pretrained={tmp_path}/latest", f"--save-inference-dir={tmp_path}", cwd=REPO)
    assert len(results(script("infer.py", f"--model-dir={tmp_path}", f"--img-path={DEMO}", cwd=REPO).stdout)) == 10


def test_amp_o1_differs_from_fp32_only_by_bf16_rounding(tmp_path: Path, lite_data: Path) -> None:
    """Same seed, same first batch: the first-step loss moves by bf16 rounding (~1e-2), not more."""
    args = [f"--data-path={lite_data}", "--epochs=1", "--batch-size=16", "--use-gpu=False", "--max-iters=1"]
    fp32 = iter_lines(script("train.py", *args, f"--output-dir={tmp_path / 'a'}", cwd=REPO).stdout)[0]
    bf16 = iter_lines(script("train.py", *args, "--amp_level=O1", f"--output-dir={tmp_path / 'b'}", cwd=REPO).stdout)[0]
    a, b = float(fp32["loss"]), float(bf16["loss"])
    assert a != b
    assert abs(a - b) < 0.05 * a


# -- PACT -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pact_run(tmp_path_factory: pytest.TempPathFactory, lite_data: Path) -> Path:
    """PACT QAT fine-tuning of the committed float model, as the PACT config runs it, then export."""
    out = tmp_path_factory.mktemp("pact")
    proc = script("train.py", f"--data-path={lite_data}", "--pact_quant", "--lr=0.001", f"--pretrained={PRETRAINED}",
                  "--epochs=2", "--batch-size=16", f"--output-dir={out}", "--use-gpu=False", cwd=REPO)
    assert "PACT: 54 conv/linear layers fake-quantized to int8" in proc.stdout
    assert final_acc(proc.stdout) >= 0.9
    script("export_model.py", "--pact_quant", f"--pretrained={out}/latest", f"--save-inference-dir={out}", cwd=REPO)
    return out


def _top1(stdout: str) -> list[int]:
    return [r["class_ids"][0] for _, r in results(stdout)]


def test_pact_int8_inference_agrees_with_its_float_model(pact_run: Path, lite_data: Path) -> None:
    val = lite_data / "val_list.txt"
    labels = [int(line.split()[1]) for line in val.read_text().splitlines()]
    int8 = _top1(script("infer.py", f"--model-dir={pact_run}", f"--img-path={val}", "--precision=int8",
                        "--enable-mkldnn=True", "--batch-size=4", cwd=REPO).stdout)
    float_model = _top1(script("predict.py", f"--pretrained={pact_run}/latest", f"--img-path={val}", "--quant=False",
                               cwd=REPO).stdout)
    qat = _top1(script("predict.py", f"--pretrained={pact_run}/latest", f"--img-path={val}", cwd=REPO).stdout)
    assert len(int8) == len(float_model) == len(qat) == len(labels) == 100
    agree_float = sum(a == b for a, b in zip(int8, float_model)) / len(labels)
    agree_qat = sum(a == b for a, b in zip(int8, qat)) / len(labels)
    assert agree_float >= 0.95, f"int8 vs float top-1 agreement {agree_float:.2f}"
    assert agree_qat >= 0.99, f"int8 inference vs QAT simulation agreement {agree_qat:.2f}"
    assert sum(a == y for a, y in zip(int8, labels)) / len(labels) >= 0.9


def test_pact_export_stores_int8_weights(pact_run: Path) -> None:
    info = json.loads((pact_run / "model_info.json").read_text())
    assert info["quantized"] is True and "PACT" in info["kind"]
    float_bytes = 4 * info["train_params"]
    # int8 weights (1 byte each) plus fp32 scales: well under half the fp32 size
    assert (pact_run / "inference.pdiparams").stat().st_size < 0.4 * float_bytes
    # the program quantizes the input of each of the 54 conv/linear layers, whose weights are int8 tensors
    program = (pact_run / "inference.json").read_text()  # PIR serialises pd_op.round as "1.round"
    assert program.count('"1.round"') == 54
    assert '"0.t_i8"' in program


def test_int8_inference_of_a_float_export_is_refused(tmp_path: Path) -> None:
    script("export_model.py", f"--pretrained={PRETRAINED}", f"--save-inference-dir={tmp_path}", cwd=REPO)
    proc = script("infer.py", f"--model-dir={tmp_path}", "--precision=int8", cwd=REPO, check=False)
    assert proc.returncode == 2 and "needs an int8-quantized model" in proc.stderr


def test_pact_pretrained_reproduces_stored_int8_results(tmp_path: Path) -> None:
    script("export_model.py", "--pact_quant", f"--pretrained={PACT_PRETRAINED}", f"--save-inference-dir={tmp_path}",
           cwd=REPO)
    expected = stored_results("int8")
    for flags in (["--enable-mkldnn=True", "--batch-size=2", "--cpu-threads=2"], ["--enable-mkldnn=False"]):
        got = dict(results(script("infer.py", f"--model-dir={tmp_path}", f"--img-path={DEMO}", "--precision=int8",
                                  *flags, cwd=REPO).stdout))
        assert set(got) == set(expected)
        for name, result in got.items():
            assert result["class_ids"] == expected[name]["class_ids"], name
            assert result["scores"] == pytest.approx(expected[name]["scores"], abs=1e-3), name


def test_pact_export_refuses_a_float_checkpoint(tmp_path: Path) -> None:
    proc = script("export_model.py", "--pact_quant", f"--pretrained={PRETRAINED}", f"--save-inference-dir={tmp_path}",
                  cwd=REPO, check=False)
    assert proc.returncode == 2 and "is not a PACT checkpoint" in proc.stderr


# -- FPGM -------------------------------------------------------------------------------------------

def test_fpgm_export_is_at_least_25_percent_smaller(tmp_path: Path, lite_data: Path) -> None:
    dense, pruned = tmp_path / "dense", tmp_path / "pruned"
    script("export_model.py", f"--pretrained={PRETRAINED}", f"--save-inference-dir={dense}", cwd=REPO)
    proc = script("train.py", f"--data-path={lite_data}", "--fpgm", "--prune-ratio=0.3", "--lr=0.002",
                  f"--pretrained={PRETRAINED}", "--epochs=1", "--batch-size=16", f"--output-dir={pruned}",
                  "--use-gpu=False", cwd=REPO)
    assert "FPGM: pruned 30% of the filters" in proc.stdout
    assert final_acc(proc.stdout) >= 0.5
    script("export_model.py", f"--pretrained={pruned}/latest", f"--save-inference-dir={pruned}", cwd=REPO)
    a, b = model_stats(dense), model_stats(pruned)
    flops_cut = 1 - b["flops"] / a["flops"]
    params_cut = 1 - b["params"] / a["params"]
    assert flops_cut >= 0.25, f"FLOPs {a['flops']} -> {b['flops']} ({flops_cut:.1%})"
    assert params_cut >= 0.25, f"params {a['params']} -> {b['params']} ({params_cut:.1%})"
    assert (pruned / "inference.pdiparams").stat().st_size < 0.75 * (dense / "inference.pdiparams").stat().st_size
    # pruned channels are gone from the weights, not masked: every expanded width shrank
    info = json.loads((pruned / "model_info.json").read_text())
    dense_info = json.loads((dense / "model_info.json").read_text())
    assert info["pruned"] is True
    assert all(p < d for p, d in zip(info["widths"]["hidden"][1:], dense_info["widths"]["hidden"][1:]))
    assert info["widths"]["last"] < dense_info["widths"]["last"]
    # the pruned export still classifies the demo images
    got = results(script("infer.py", f"--model-dir={pruned}", f"--img-path={DEMO}", cwd=REPO).stdout)
    assert len(got) == 10
    # eval rebuilds the narrower network from the checkpoint's shapes alone
    ev = script("train.py", "--test-only", f"--data-path={lite_data}", f"--pretrained={pruned}/latest", cwd=REPO)
    assert "FPGM-pruned" in ev.stdout

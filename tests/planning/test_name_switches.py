"""Model-name switches of the dialect planners, tested as upstream's scripts write them.

* PaddleClas benchmark_train: the fused-attention flags go to the AMP trainings of the two
  transformer benchmarks named exactly; a name that only contains one is left alone;
* PaddleDetection benchmark_train: the models that run on the full COCO data
  (``benchmark_train.sh``'s ``=~`` list, which names ``ppyoloe_r_crn_s_3x_spine_coco`` too) keep their
  epoch, scaled by the card count; the others train one epoch;
* PaddleDetection's dino op build.

Where the exact upstream line was not available (Clas's fused flags, Det's dino branch), the corpus
tests check that the plugin's condition agrees with every golden record.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tipc.model.cells import Plan
from pytest_tipc.model.config import ConfigError, parse_text
from pytest_tipc.planning.suites import plan_suite
from tests.planning.test_dialect_clas import BASE as CLAS_ROWS
from tests.planning.test_dialect_det import DET_ROWS
from tests.support import conformance, suite_conformance

ROOT = Path("/repo")
FUSED = "Arch.use_fused_attn=True"
EXT_OP = "setup_ms_deformable_attn_op.py"


def bench_plan(rows: dict[int, str], section: str, dialect: str, model: str, bench: str) -> Plan:
    table = {**rows, 2: f"model_name:{model}"}
    text = "\n".join(table[n] for n in sorted(table)) + "\n" + section
    config = parse_text(text, f"test_tipc/configs/{model}/{model}_train_infer_python.txt")
    return plan_suite(config, dialect, ROOT, "benchmark_train", suite="benchmark_train", bench=bench)


def trainings(plan: Plan) -> list[list[str]]:
    return [list(step.argv) for step in plan.steps() if step.kind == "train"]


CLAS_SECTION = """===========================train_benchmark_params==========================
batch_size:128
fp_items:fp16
epoch:1
model_type:norm_train
num_workers:16
--profiler_options:batch_range=[10,20];state=GPU;tracer_option=Default;profile_path=model.profile
flags:FLAGS_eager_delete_tensor_gb=0.0
"""


def clas_plan(model: str) -> Plan:
    return bench_plan(CLAS_ROWS, CLAS_SECTION, "clas", model, "dynamic_bs128_fp16_DP_N1C1")


@pytest.mark.parametrize("model", ["SwinTransformer_base_patch4_window7_224_ampo2_ultra", "CLIP_vit_base_patch16_224"])
def test_clas_fused_flags_reach_the_amp_trainings_of_the_named_benchmarks(model: str) -> None:
    train = trainings(clas_plan(model))
    assert train and all(argv[-4:] == ["-o", FUSED, "-o", "Arch.use_fused_linear=True"] for argv in train)


@pytest.mark.parametrize("model", ["SwinTransformer_base_patch4_window7_224_fp32_ultra",
                                   "SwinTransformer_base_patch4_window7_224", "CLIP_vit_base_patch16_224_ft"])
def test_clas_a_name_that_only_contains_a_fused_benchmark_gets_no_flags(model: str) -> None:
    train = trainings(clas_plan(model))
    assert train and not any(FUSED in argv for argv in train)


DET_SECTION = """===========================train_benchmark_params==========================
batch_size:2
fp_items:fp32
epoch:3
repeat:2
--profiler_options:batch_range=[10,20];state=GPU;tracer_option=Default;profile_path=model.profile
flags:null
"""


def det_epochs(model: str) -> set[str]:
    plan = bench_plan(DET_ROWS, DET_SECTION, "det", model, "dynamic_bs2_fp32_DP_N1C4")
    return {arg for argv in trainings(plan) for arg in argv if arg.startswith("epoch=")}


@pytest.mark.parametrize("model", ["ppyoloe_r_crn_s_3x_spine_coco", "higherhrnet_hrnet_w32_512",
                                   "hrnet_w32_256x192", "tinypose_128x96"])
def test_det_full_coco_models_keep_their_epoch_times_the_cards(model: str) -> None:
    assert det_epochs(model) == {"epoch=12"}  # benchmark_train.sh: set_dynamic_epoch N1C4 3


@pytest.mark.parametrize("model", ["ppyoloe_crn_s_300e_coco", "ppyoloe_r_crn_s_3x_dota"])
def test_det_other_models_train_one_epoch(model: str) -> None:
    assert det_epochs(model) == {"epoch=1"}


def test_det_dino_builds_its_op_and_others_do_not() -> None:
    def builds(model: str) -> bool:
        plan = bench_plan(DET_ROWS, DET_SECTION, "det", model, "dynamic_bs2_fp32_DP_N1C1")
        return any(EXT_OP in step.argv for step in plan.steps())

    assert builds("dino_r50_4scale_1x_coco")
    assert not builds("deformable_detr_r50_1x_coco")


def _has(records: list[dict[str, object]], marker: str) -> bool:
    return any(marker in list(rec["argv"]) for rec in records)  # type: ignore[call-overload]


SUITES = suite_conformance.suites_dir()
TRAIN_INFER = conformance.conformance_dir()


@pytest.mark.skipif(SUITES is None, reason="../shared/conformance/suites not found (set TIPC_CONFORMANCE)")
@pytest.mark.parametrize(("dialect", "marker"), [("clas", FUSED), ("det", EXT_OP)])
def test_suite_records_and_plans_agree_on_each_name_switch(dialect: str, marker: str) -> None:
    """No config gets the switch that its records lack, and every config whose records show it gets it."""
    assert SUITES is not None
    rows = [row for row in suite_conformance.suite_rows(SUITES)
            if row.suite == "benchmark_train" and row.dialect == dialect]
    shown, planned = set(), set()
    for row in rows:
        try:
            got = suite_conformance.planned(SUITES, row)
        except ConfigError:  # a config error row (listed in test_suite_parity's DEVIATIONS) plans nothing
            got = []
        if _has(suite_conformance.golden(SUITES, row), marker):
            shown.add(row.ident)
        if _has(got, marker):
            planned.add(row.ident)
    assert shown  # the corpus holds the switch at all
    assert planned == shown


@pytest.mark.skipif(TRAIN_INFER is None, reason="../shared/conformance not found (set TIPC_CONFORMANCE)")
def test_train_infer_records_and_plans_agree_on_the_dino_op_build() -> None:
    assert TRAIN_INFER is not None
    rows = [row for row in conformance.parity_rows(TRAIN_INFER) if row.dialect == "det"]
    shown = {row.config for row in rows if _has(conformance.golden(TRAIN_INFER, row), EXT_OP)}
    planned = set()
    for row in rows:
        try:
            if _has(conformance.planned(TRAIN_INFER, row), EXT_OP):
                planned.add(row.config)
        except ConfigError:  # a row the plugin reports (test_parity's deviations) plans nothing
            pass
    assert shown == {"test_tipc/configs/dino/dino_r50_4scale_1x_coco_train_infer_python.txt"}
    assert planned == shown


@pytest.mark.skipif(TRAIN_INFER is None, reason="../shared/conformance not found (set TIPC_CONFORMANCE)")
def test_train_infer_records_and_plans_agree_on_the_clas_recmodel_weights() -> None:
    """GeneralRecognition/MetaBIN configs load their weights from <save_log>/RecModel, as recorded."""
    assert TRAIN_INFER is not None

    def rec_model(records: list[dict[str, object]]) -> bool:
        return any("/RecModel/" in arg for rec in records for arg in rec["argv"])  # type: ignore[attr-defined]

    rows = [row for row in conformance.parity_rows(TRAIN_INFER) if row.dialect == "clas"]
    shown: set[tuple[str, str]] = set()
    planned: set[tuple[str, str]] = set()
    for row in rows:
        if rec_model(conformance.golden(TRAIN_INFER, row)):
            shown.add((row.config, row.mode))
        try:
            if rec_model(conformance.planned(TRAIN_INFER, row)):
                planned.add((row.config, row.mode))
        except ConfigError:  # a row the plugin reports plans nothing
            pass
    assert len(shown) >= 5  # GeneralRecognition(V2) and MetaBIN configs
    assert planned == shown

"""The bundled model certifies with ``--tipc-rehearse cpu`` on a GPU-only copy of its AMP config.

The copy lists GPU training only (``gpu_list:0|0,1``, ``--use-gpu:True|True``), as upstream configs
do; without the option every cell skips on this CPU machine. With it, the trainings run for real on
CPU (the two-card one as two gloo processes) and their inferences run on CPU. The test runs the
two-card training (one epoch instead of four) and one inference per device; README's numbers are the
whole config.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .test_certification import copy_model, run

pytest.importorskip("paddle")
pytestmark = pytest.mark.slow

AMP = "test_tipc/configs/mobilenet_v3_small/train_amp_infer_python.txt"
# row text → its replacement: GPU-only training, as upstream configs list it; one epoch instead of four
GPU_ONLY = {"gpu_list:-1|0|0,1": "gpu_list:0|0,1", "--use-gpu:False|True|True": "--use-gpu:True|True",
            "--epochs:lite_train_lite_infer=4|": "--epochs:lite_train_lite_infer=1|"}


def gpu_only_copy(root: Path) -> Path:
    config = root / AMP
    text = config.read_text()
    for old, new in GPU_ONLY.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    config.write_text(text)
    return config


def test_gpu_only_amp_config_certifies_rehearsed_on_cpu(tmp_path: Path) -> None:
    root = copy_model(tmp_path)
    gpu_only_copy(root)
    plain, skipped = run(root, "--tipc-config", AMP, "-m", "tipc(gpus='0,1')")
    assert plain.returncode == 0 and skipped and {o for o, _ in skipped.values()} == {"skipped"}
    assert "selected cells were skipped" in plain.stdout and "--tipc-rehearse cpu" in plain.stdout
    # the two-card training (two gloo processes) and one inference per device keep the test short
    select = ("-m", "tipc(gpus='0,1') and (tipc(kind='train') or tipc(device='gpu', batch_size='1') or "
                    "tipc(device='cpu', threads='1', batch_size='1', mkldnn='False'))")
    proc, outcomes = run(root, "--tipc-config", AMP, *select, "--tipc-rehearse", "cpu",
                         "--tipc-report", "report.md")
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert {name for name, (outcome, _) in outcomes.items() if outcome == "passed"} == {
        "train[gpu0_1-null-amp_train]", "infer[gpu0_1-null-amp_train-cpu-t1-fp32-bs1]",
        "infer[gpu0_1-null-amp_train-gpu-fp32-bs1]"}, outcomes
    props = [{p.get("name"): p.get("value") for p in case.iter("property")}
             for case in ET.parse(root / "junit.xml").getroot().iter("testcase")]
    assert len(props) == 3 and all(p.get("tipc_rehearsal") == "cpu" for p in props)
    # the two-card cell trained as two CPU processes
    log = root / "test_tipc" / "output" / "amp_train_gpus_0,1_autocast_null.log"
    assert "data parallel: 2 processes, backend gloo" in log.read_text()
    report = (root / "report.md").read_text()
    assert "rehearsed on CPU" in report and "[supported]" not in report

"""Hand-built plans for the engine tests: a "training" tool that is a tiny Python script.

``tool.py train`` writes a checkpoint, ``export`` an inference model, ``infer`` reads it; each
appends its name to ``calls.txt``. ``TOOL_FAIL=<stage>`` makes that stage fail and
``TOOL_HANG=<stage>`` makes it hang (with a grandchild).
"""

from __future__ import annotations

import sys
from pathlib import Path

from pytest_tipc.model.cells import Cell, Expect, Launch, Plan, Step, infer_cell, train_cell

TOOL = """\
import os, subprocess, sys, time
stage, args = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:] if "=" in a)
with open("calls.txt", "a") as fh:
    fh.write(stage + "\\n")
print(f"{stage}: args {sys.argv[2:]} CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')}", flush=True)
delay = float(os.environ.get("TOOL_SLEEP", "0"))
if delay:
    time.sleep(delay)
if os.environ.get("TOOL_HANG") == stage:
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    time.sleep(120)
if os.environ.get("TOOL_FAIL") == stage:
    print("Traceback (most recent call last):\\nRuntimeError: loss is nan", flush=True)
    sys.exit(1)
save = args.get("--save-dir", "")
if stage == "train":
    os.makedirs(save, exist_ok=True)
    open(os.path.join(save, "latest.pdparams"), "w").close()
elif stage == "export":
    os.makedirs(os.path.join(save, "inference"), exist_ok=True)
    for name in ("inference.pdiparams", "inference.json"):
        open(os.path.join(save, "inference", name), "w").close()
elif stage == "infer":
    model = args["--model-dir"]
    assert os.path.isfile(os.path.join(model, "inference.pdiparams")), model
    print("infer ok", model)
    print("img1.jpg\t[1]")  # a result line: an inference that shows none fails (verdicts/evidence.py)
"""

MODEL = "tiny"
MODE = "lite_train_lite_infer"
LOG_DIR = f"./test_tipc/output/{MODEL}/{MODE}"


def write_tool(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "tool.py").write_text(TOOL)


def step(kind: str, stage: str, log: str, *args: str, cuda: str | None = None, python: str = sys.executable,
         expects: tuple[Expect, ...] = (), launch: Launch | None = None, prefix: tuple[str, ...] = ()) -> Step:
    argv = (python, *prefix, "tool.py", stage, *args)
    shown = " ".join(argv[1:])
    status = f"Run {{verdict}} with command - {MODEL} - {shown} > {log} 2>&1  - {log} "
    return Step(kind, argv, ".", (("CUDA_VISIBLE_DEVICES", cuda),), log, status, launch, (), expects)  # type: ignore[arg-type]


def train_steps(gpus: str, python: str = sys.executable) -> tuple[list[Step], str]:
    save = f"{LOG_DIR}/norm_train_gpus_{gpus.replace(';', '_')}_autocast_null"
    cuda = None if gpus == "-1" or ";" in gpus else gpus.split(",")[0]
    prefix: tuple[str, ...] = ()
    launch = None
    if ";" in gpus:
        ips, _, cards = gpus.partition(";")
        prefix = ("-m", "fakelaunch", f"--ips={ips}", f"--gpus={cards}")
        launch = Launch(cards, tuple(ips.split(",")), argv_index=1, script_index=5)
    elif "," in gpus:
        prefix = ("-m", "fakelaunch", f"--gpus={gpus}")
        launch = Launch(gpus, (), argv_index=1, script_index=4)
    steps = [
        step("train", "train", f"{save}.log", f"--save-dir={save}", cuda=None if launch else cuda, python=python,
             expects=(Expect("file", f"{save}/latest", (".pdparams",)),), launch=launch, prefix=prefix),
        step("export", "export", f"{save}_export.log", f"--save-dir={save}", cuda=cuda, python=python,
             expects=(Expect("inference_model", f"{save}/inference"),)),
    ]
    return steps, save


def make_plan(root: Path, n_infer: int = 8, gpus: str = "-1", device: str = "cpu",
              python: str = sys.executable) -> Plan:
    """The plan of a tiny model whose harness root is ``root``."""
    steps, save = train_steps(gpus, python)
    parent = train_cell(model=MODEL, mode=MODE, gpus=gpus, autocast="null", trainer="norm_train", steps=steps)
    cells: list[Cell] = [parent]
    cuda = None if gpus == "-1" or ";" in gpus else gpus.split(",")[0]
    for bs in range(1, n_infer + 1):
        log = f"{LOG_DIR}/python_infer_{device}_batchsize_{bs}.log"
        infer = step("infer", "infer", log, f"--model-dir={save}/inference", f"--batch-size={bs}", cuda=cuda,
                     python=python)
        cells.append(infer_cell(parent=parent, device=device, precision="fp32", batch_size=str(bs), steps=(infer,)))
    return Plan("template", MODE, MODEL, LOG_DIR, tuple(cells), root=str(root))


FAKE_LAUNCH = """\
import os, subprocess, sys
args = sys.argv[1:]
script = next(i for i, a in enumerate(args) if a.endswith(".py"))
print("fakelaunch", args[:script], "CUDA_VISIBLE_DEVICES", os.environ.get("CUDA_VISIBLE_DEVICES"), flush=True)
sys.exit(subprocess.call([sys.executable, *args[script:]]))
"""


def write_fake_launcher(root: Path) -> None:
    (root / "fakelaunch.py").write_text(FAKE_LAUNCH)

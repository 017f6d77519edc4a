"""A small model repository with what real ones have, for the real-repo rehearsal (tests/test_real_repo.py).

Like a PaddleClas checkout it has a root ``__init__.py`` that fails on import (a relative import,
as PaddleClas's ``from .paddleclas import PaddleClas``), a ``setup.py``, a ``test_tipc/prepare.sh``
that downloads (and fails offline, then falls back to a bundled tiny dataset and exits 0), a
clas-style 51-row config with ``python:python`` (a real PaddleClas config, set to CPU), and
``tools/train.py``, ``tools/eval.py``, ``tools/export_model.py`` and ``deploy/python/predict_cls.py``
stand-ins; the predictor imports ``auto_log`` as PaddleClas's does.

Every script appends ``<stage> <sys.executable>`` to ``./ran.txt`` (the harness root), so a test
can tell which interpreter ran it. ``FAKE_FAIL=<stage>`` makes a stage exit 2; ``FAKE_UAPI=1`` makes
training save in ``Global.output_dir`` itself, as PaddleClas does since its 2023 UAPI change.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path

CONFIGS = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "configs"
BASE = "PaddleClas/test_tipc/configs/MobileNetV3/MobileNetV3_small_x1_0_train_infer_python.txt"
CONFIG = "test_tipc/configs/MobileNetV3/MobileNetV3_small_x1_0_train_infer_python.txt"
MODEL_YAML = "ppcls/configs/ImageNet/MobileNetV3/MobileNetV3_small_x1_0.yaml"
# The upstream config, made to run on a CPU machine: CPU training and inference, two batch sizes.
CPU_ROWS = {3: "python:python", 4: "gpu_list:-1", 5: "-o Global.device:cpu", 41: "-o Global.use_gpu:False",
            44: "-o Global.batch_size:1|2"}

COMMON = '''import os, sys
from pathlib import Path

def opts(argv):
    out = {{}}
    for i, arg in enumerate(argv):
        if arg == "-o" and i + 1 < len(argv):
            key, _, value = argv[i + 1].partition("=")
            out[key] = value
        elif arg == "-c" and i + 1 < len(argv):
            out["config"] = argv[i + 1]
    return out

def ran(stage):
    root = Path(__file__).resolve().parents[{depth}]
    with open(root / "ran.txt", "a") as fh:
        fh.write(f"{{stage}} {{sys.executable}}\\n")
    if os.environ.get("FAKE_FAIL") == stage:
        print(f"Error: simulated failure in {{stage}}", flush=True)
        sys.exit(2)
'''

TRAIN = '''
args = opts(sys.argv[1:])
ran("train")
assert Path(args["config"]).is_file(), args["config"]
assert Path("dataset/ILSVRC2012/train_list.txt").is_file(), "no training data: run test_tipc/prepare.sh"
out = Path(args["Global.output_dir"])
if not os.environ.get("FAKE_UAPI"):  # FAKE_UAPI=1: PaddleClas since its 2023 UAPI change, no <model>/ level
    out = out / Path(args["config"]).stem
out.mkdir(parents=True, exist_ok=True)
for it in range(3):
    print(f"[Train][Epoch 1/2][Iter: {it}/3]lr: 0.10000, CELoss: {1.0 / (it + 1):.5f}, loss: {1.0 / (it + 1):.5f}, "
          f"avg_reader_cost: 0.00100 sec, avg_batch_cost: 0.01000 sec, avg_samples: 8.0, avg_ips: 800.00000 images/sec")
(out / "latest.pdparams").write_bytes(b"weights")
'''

EVAL = '''
args = opts(sys.argv[1:])
ran("eval")
assert Path(args["Global.pretrained_model"] + ".pdparams").is_file(), args["Global.pretrained_model"]
print("[Eval][Epoch 0][Avg]CELoss: 0.50000, loss: 0.50000, top1: 0.50000, top5: 0.90000")
'''

EXPORT = '''
args = opts(sys.argv[1:])
ran("export")
assert Path(args["Global.pretrained_model"] + ".pdparams").is_file(), args["Global.pretrained_model"]
out = Path(args["Global.save_inference_dir"])
out.mkdir(parents=True, exist_ok=True)
(out / "inference.json").write_text("{}")
(out / "inference.pdiparams").write_bytes(b"params")
'''

PREDICT = '''
import auto_log  # as PaddleClas's deploy/python/predict_cls.py does

args = opts(sys.argv[1:])
ran("infer")
model = Path(args["Global.inference_model_dir"])
assert (model / "inference.json").is_file(), f"no inference model in {model}"
image = Path(args["Global.infer_imgs"])
assert image.is_file(), image
batch = int(args.get("Global.batch_size", "1"))
print(f"{image.name}:\\tclass id(s): [1], score(s): [0.90], label_name(s): ['goldfish']")
logger = auto_log.AutoLogger(model_name="MobileNetV3_small_x1_0", model_precision="fp32", batch_size=batch,
                             data_shape="dynamic", save_path=None,
                             inference_config={"use_gpu": False, "ir_optim": True, "tensorrt_engine_enabled": False,
                                               "mkldnn_enabled": False, "cpu_math_library_num_threads": 1},
                             pids=os.getpid(), process_name=None, gpu_ids=None,
                             time_keys=["preprocess_time", "inference_time", "postprocess_time"], warmup=0)
for _ in range(2):
    logger.times.start(); logger.times.stamp(); logger.times.stamp(); logger.times.end(stamp=True)
logger.report()
'''

PREPARE_SH = '''#!/bin/bash
# The repo's own data preparation, as PaddleClas's: installs the package, downloads the lite data.
FILENAME=$1
MODE=$2
python setup.py install
if read -r answer; then echo "read from stdin: $answer"; else echo "stdin is closed"; fi
mkdir -p dataset
wget -nc -T 5 -t 1 -P ./dataset http://tipc-fake-repo.invalid/whole_chain_little_train.tar
# offline: fall back to the tiny dataset the repo bundles (the harness goes on after a failed wget too)
mkdir -p dataset/ILSVRC2012/val
cp -n bundled/train_list.txt dataset/ILSVRC2012/train_list.txt
cp -n bundled/ILSVRC2012_val_00000001.JPEG dataset/ILSVRC2012/val/
echo "prepared $MODE for $FILENAME"
'''

SETUP_PY = '''import sys
from pathlib import Path
# Stands in for `setup.py install`: records the interpreter that ran it, installs nothing.
with open(Path(__file__).resolve().parent / "ran.txt", "a") as fh:
    fh.write(f"setup.py {sys.executable}\\n")
print("running install")
'''

ROOT_INIT = '''from pathlib import Path
Path(__file__).with_name("ROOT_INIT_IMPORTED").touch()
from .paddleclas import PaddleClas  # noqa: E402,F401  fails outside the package, as PaddleClas's
'''


def config_text() -> str:
    lines = (CONFIGS / BASE).read_text().splitlines()
    for row, text in CPU_ROWS.items():
        lines[row - 1] = text
    return "\n".join(lines) + "\n"


def build(root: Path, *, root_init: bool = True) -> Path:
    """Write the fake repository at ``root``; returns the config's path."""
    files = {
        "setup.py": SETUP_PY,
        "test_tipc/prepare.sh": PREPARE_SH,
        CONFIG: config_text(),
        MODEL_YAML: "Global:\n  epochs: 2\n",
        "tools/train.py": COMMON.format(depth=1) + TRAIN,
        "tools/eval.py": COMMON.format(depth=1) + EVAL,
        "tools/export_model.py": COMMON.format(depth=1) + EXPORT,
        "deploy/python/predict_cls.py": COMMON.format(depth=2) + PREDICT,
        "deploy/configs/inference_cls.yaml": "Global:\n  infer_imgs: ./images\n",
        "bundled/train_list.txt": "ILSVRC2012_val_00000001.JPEG 0\n",
        "bundled/ILSVRC2012_val_00000001.JPEG": "not really a jpeg\n",
        "ppcls/__init__.py": "",
        "paddleclas.py": "class PaddleClas:\n    pass\n",
    }
    if root_init:
        files["__init__.py"] = ROOT_INIT
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / CONFIG


def ran(root: Path) -> list[tuple[str, str]]:
    """``(stage, interpreter)`` for every script run in the repo, in order."""
    path = root / "ran.txt"
    if not path.exists():
        return []
    return [tuple(line.split(" ", 1)) for line in path.read_text().splitlines()]  # type: ignore[misc]


def make_venv(path: Path) -> Path:
    """A venv that sees the packages of the environment running the tests (Paddle, pytest, this
    checkout's plugin), in the same order; returns its python.

    ``python -m venv --system-site-packages`` alone is not that when the tests run in a venv: the new
    venv's interpreter is the base one, whose site-packages lack the venv's packages (or hold another
    checkout's plugin, or another pytest). A ``.pth`` file adds this environment's site dirs as
    site dirs (their own ``.pth`` files, e.g. editable installs, are processed too)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, capture_output=True)
    dirs = site.getsitepackages() + ([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])
    lines = "".join(f"site.addsitedir({d!r}); " for d in dirs if os.path.isdir(d))
    purelib = subprocess.run([str(path / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "zz_outer_environment.pth").write_text(f"import site; {lines}\n")
    return path / "bin" / "python"


def deactivated_env(venv_python: Path) -> dict[str, str]:
    """The environment of a shell where the venv is not activated: PATH without its bin, nor the
    folder of the interpreter running the tests (its ``python`` would be found there instead)."""
    skip = {str(venv_python.parent), os.path.dirname(sys.executable)}
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p not in skip)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTEST_ADDOPTS")}
    env["PATH"] = path
    return env

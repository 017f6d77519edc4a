"""Regenerate the committed pretrained weights and the stored inference results.

    python reference_model/make_pretrained.py            # ~3 minutes on 2 CPU cores

1. trains MobileNetV3-small on lite_data from scratch (fixed seed, ``--epochs`` epochs);
2. fine-tunes that model with PACT int8 quantization-aware training;
3. stores both as fp16 ``.pdparams`` (half the size; loaders cast back to fp32) in
   ``test_tipc/pretrained/mobilenet_v3_small{,_pact}/``;
4. exports each stored file and runs Paddle Inference on ``test_images/demo`` (CPU, no oneDNN,
   batch 1) to write ``test_tipc/results/python_mobilenet_v3_small_results_{fp32,int8}.txt``,
   the files whole_infer compares against.

Everything is seeded; on another machine or Paddle version the float arithmetic may differ in
the last bits, which is what the comparison tolerances are for.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
PRETRAINED_DIR = REPO_ROOT / "test_tipc" / "pretrained"
RESULTS_DIR = REPO_ROOT / "test_tipc" / "results"
DEMO_DIR = REPO_ROOT / "test_images" / "demo"
FLOAT_NAME = "mobilenet_v3_small"
PACT_NAME = "mobilenet_v3_small_pact"


def run(*args: str) -> str:
    cmd = [sys.executable, *args]
    print("+ " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=REPO_ROOT, text=True, capture_output=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"command failed with exit status {proc.returncode}")
    return proc.stdout


def store_fp16(src: Path, dst: Path) -> None:
    import paddle

    state = paddle.load(str(src))
    half = {k: (v.astype("float16") if v.dtype == paddle.float32 else v) for k, v in state.items()}
    dst.parent.mkdir(parents=True, exist_ok=True)
    paddle.save(half, str(dst))
    print(f"stored {dst} ({dst.stat().st_size / 1e6:.2f} MB)")


def result_lines(infer_stdout: str) -> list[str]:
    lines = []
    for line in infer_stdout.splitlines():
        name, sep, payload = line.partition("\t")
        if sep and name.endswith(".png"):
            json.loads(payload)
            lines.append(f"{name}\t{payload}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--pact-epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    run(str(HERE / "prepare.py"), "--dest", "./lite_data", "--data-only")
    with tempfile.TemporaryDirectory(prefix="mbv3_pretrain_") as tmp_name:
        tmp = Path(tmp_name)
        run(str(HERE / "train.py"), "--data-path=./lite_data", f"--epochs={args.epochs}", "--batch-size=16",
            "--lr=0.005", f"--seed={args.seed}", f"--output-dir={tmp / 'float'}", "--use-gpu=False")
        float_file = PRETRAINED_DIR / FLOAT_NAME / f"{FLOAT_NAME}_pretrained.pdparams"
        store_fp16(tmp / "float" / "latest.pdparams", float_file)
        run(str(HERE / "train.py"), "--data-path=./lite_data", f"--epochs={args.pact_epochs}", "--batch-size=16",
            "--lr=0.001", f"--seed={args.seed}", "--pact_quant", f"--pretrained={float_file}",
            f"--output-dir={tmp / 'pact'}", "--use-gpu=False")
        pact_file = PRETRAINED_DIR / PACT_NAME / f"{PACT_NAME}_pretrained.pdparams"
        store_fp16(tmp / "pact" / "latest.pdparams", pact_file)

        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        for weights, precision in ((float_file, "fp32"), (pact_file, "int8")):
            print(run(str(HERE / "train.py"), "--data-path=./lite_data", "--test-only", f"--pretrained={weights}",
                      "--use-gpu=False").strip().splitlines()[-1])
            export_dir = tmp / f"export_{precision}"
            run(str(HERE / "export_model.py"), f"--pretrained={weights}", f"--save-inference-dir={export_dir}")
            out = run(str(HERE / "infer.py"), f"--model-dir={export_dir}", f"--img-path={DEMO_DIR}",
                      "--use-gpu=False", "--enable-mkldnn=False", "--cpu-threads=1", "--batch-size=1",
                      f"--precision={precision}")
            lines = result_lines(out)
            target = RESULTS_DIR / f"python_{FLOAT_NAME}_results_{precision}.txt"
            target.write_text("\n".join(lines) + "\n")
            print(f"wrote {target} ({len(lines)} images)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Post-training quantisation (PTQ) in plain Paddle: calibrate a float checkpoint, export int8.

The Step6 ``deploy/ptq_python/post_quant.py`` role, without paddleslim:

1. load the float checkpoint (``--model_path``) and wrap every Conv2D/Linear as an int8 layer
   (pact.quantize: per-channel int8 weights, per-tensor int8 activations);
2. calibrate the activation ranges on ``--batch_num`` x ``--batch_size`` lite training images in
   eval mode (pact.calibrate with ``train_mode=False``: the largest input magnitude each layer
   sees; no training, the weights are not changed);
3. export the int8 network with export_model.py (pact.freeze: int8 weights in ``.pdiparams``,
   clip/round/scale ops that Paddle Inference runs exactly on CPU) to ``--output_dir``.

``--output_dir`` then holds ``inference.json`` + ``inference.pdiparams`` + ``model_info.json``
(``quantized: true``, ``quantization`` naming PTQ) and ``ptq.pdparams`` (the calibrated checkpoint).

    python reference_model/ptq.py --model_path=test_tipc/pretrained/mobilenet_v3_small/mobilenet_v3_small_pretrained \\
        --data_dir=./lite_data --output_dir=./output/ptq --batch_num=4 --batch_size=16
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import checkpoint
import export_model
import numpy as np
import pact
import paddle
from common import choose_device, fail, str2bool
from data import load_image, read_list

CHECKPOINT_NAME = "ptq.pdparams"


def get_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="MobileNetV3-small post-training quantisation (plain Paddle)")
    p.add_argument("--model_path", "--model-path", required=True, help="float checkpoint (.pdparams, suffix optional)")
    p.add_argument("--output_dir", "--output-dir", required=True, help="where the int8 inference model goes")
    p.add_argument("--data_dir", "--data-dir", default="./lite_data", help="lite_data root (train_list.txt)")
    p.add_argument("--batch_num", "--batch-num", type=int, default=4, help="calibration batches")
    p.add_argument("--batch_size", "--batch-size", type=int, default=16, help="images per calibration batch")
    p.add_argument("--use_gpu", "--use-gpu", type=str2bool, default=False, help="calibrate on GPU (CPU fallback)")
    args = p.parse_args(argv)
    if args.batch_num < 1 or args.batch_size < 1:
        fail("--batch_num and --batch_size must be >= 1")
    return args


def calibration_batches(data_dir: str, batch_num: int, batch_size: int) -> list[paddle.Tensor]:
    """The first ``batch_num * batch_size`` training images, in list order (deterministic)."""
    try:
        items = read_list(data_dir, "train_list.txt")
    except FileNotFoundError as exc:
        fail(str(exc))
    if not items:
        fail(f"{data_dir}/train_list.txt lists no images")
    chosen = items[: batch_num * batch_size]
    images = np.stack([load_image(path) for path, _ in chosen])
    return [paddle.to_tensor(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]


def main(argv: list[str] | None = None) -> int:
    args = get_args(argv)
    device = choose_device(args.use_gpu, None)
    try:
        state = checkpoint.load_state(args.model_path)
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc))
    if pact.is_pact_state(state):
        fail(f"{args.model_path} is already a quantized (PACT) checkpoint; PTQ needs the float model")
    model = checkpoint.build(state)
    pact.quantize(model)
    model.eval()
    batches = calibration_batches(args.data_dir, args.batch_num, args.batch_size)
    with warnings.catch_warnings():  # calibrate restores only the BatchNorm statistics: the rest is "skipped"
        warnings.filterwarnings("ignore", message="Skip loading for")
        pact.calibrate(model, batches, train_mode=False)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / CHECKPOINT_NAME
    paddle.save(model.state_dict(), str(ckpt))
    calibrated = sum(len(b) for b in batches)
    print(f"PTQ: calibrated {len(pact.quant_layers(model))} int8 layers on {calibrated} images from "
          f"{args.data_dir} ({device}); checkpoint {ckpt}", flush=True)
    code = export_model.main([f"--pretrained={ckpt}", f"--save-inference-dir={out}"])
    info_path = out / "model_info.json"
    info = json.loads(info_path.read_text())
    info["kind"] = "PTQ int8"
    info["quantization"] = ("int8 PTQ: per-channel int8 weights, int8 activations (clip/round/scale ops), "
                            f"max calibration on {calibrated} images")
    info["calibration"] = {"data_dir": str(args.data_dir), "images": calibrated, "batch_num": args.batch_num,
                           "batch_size": args.batch_size, "float_checkpoint": str(checkpoint.resolve(args.model_path))}
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    return code


if __name__ == "__main__":
    raise SystemExit(main())

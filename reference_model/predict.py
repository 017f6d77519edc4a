"""Classify images with the training engine (dygraph), straight from a checkpoint.

Prints the same ``<image basename>\\t<json>`` lines as infer.py, so the two can be compared.
For a PACT checkpoint, ``--quant=False`` runs the same weights without fake quantization (the
"float model" of a quantization-aware training run).

    python reference_model/predict.py --pretrained=out/latest --img-path=test_images/demo
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import checkpoint
import numpy as np
import pact
import paddle
import paddle.nn.functional as F
from common import choose_device, fail, str2bool
from data import IMAGE_SIZE, list_images, load_image
from infer import DEFAULT_IMAGES, postprocess


def get_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="MobileNetV3-small prediction on the training engine")
    p.add_argument("--pretrained", required=True, help="checkpoint (.pdparams, suffix optional)")
    p.add_argument("--img-path", "--img_path", default=str(DEFAULT_IMAGES),
                   help="an image, a directory of images, or a list file")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--topk", type=int, default=1)
    p.add_argument("--quant", type=str2bool, default=True,
                   help="for PACT checkpoints: False runs the float weights without fake quantization")
    p.add_argument("--device", default="cpu")
    p.add_argument("--use-gpu", "--use_gpu", type=str2bool, default=None)
    return p.parse_args(argv)


@paddle.no_grad()
def main(argv: list[str] | None = None) -> int:
    args = get_args(argv)
    choose_device(args.use_gpu, args.device)
    try:
        state = checkpoint.load_state(args.pretrained)
        images = list_images(args.img_path)
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc))
    model = checkpoint.build(state)
    if not args.quant:
        pact.set_enabled(model, False)
    model.eval()
    kind = checkpoint.describe(model) + ("" if args.quant or not pact.is_pact_state(state) else ", quantization off")
    print(f"model: {checkpoint.resolve(args.pretrained)} ({kind}), images: {len(images)}", flush=True)
    for i in range(0, len(images), args.batch_size):
        paths: list[Path] = images[i : i + args.batch_size]
        batch = paddle.to_tensor(np.stack([load_image(p, IMAGE_SIZE) for p in paths]))
        probs = F.softmax(model(batch), axis=-1).numpy()
        for path, result in zip(paths, postprocess(probs, args.topk)):
            print(f"{path.name}\t{json.dumps(result)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

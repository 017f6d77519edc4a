"""Classify images with onnxruntime, on a model converted by ``paddle2onnx``.

The ONNX twin of infer.py (the Step6 ``deploy/onnx_python/infer.py`` role): the same
preprocessing and the same output, one line per image::

    <image basename>\\t{"class_ids": [3], "scores": [0.98765]}

so the ONNX run can be compared with Paddle Inference's and with the stored results.

    python reference_model/infer_onnx.py --onnx_file=out/model.onnx --img_path=test_images/demo
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from common import fail
from data import IMAGE_SIZE, list_images, load_image
from infer import DEFAULT_IMAGES, postprocess


def get_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="MobileNetV3-small inference with onnxruntime")
    p.add_argument("--onnx-file", "--onnx_file", required=True, help="the .onnx model paddle2onnx wrote")
    p.add_argument("--img-path", "--img_path", "--image_dir", default=str(DEFAULT_IMAGES),
                   help="an image, a directory of images, or a list file")
    p.add_argument("--batch-size", "--batch_size", type=int, default=1)
    p.add_argument("--cpu-threads", "--cpu_threads", type=int, default=1)
    p.add_argument("--topk", type=int, default=1)
    p.add_argument("--use-gpu", "--use_gpu", default="False", help="only False: this script runs on CPU")
    args = p.parse_args(argv)
    if args.batch_size < 1 or args.cpu_threads < 1:
        fail("--batch-size and --cpu-threads must be >= 1")
    if str(args.use_gpu).strip().lower() not in ("false", "0", "no", "cpu"):
        fail("--use-gpu=True is not supported: this script runs onnxruntime's CPU provider")
    return args


def main(argv: list[str] | None = None) -> int:
    args = get_args(argv)
    try:
        import onnxruntime as ort
    except ImportError:
        fail("onnxruntime is not installed (pip install onnxruntime, or the plugin's .[onnx] extra)")
    onnx_file = Path(args.onnx_file)
    if not onnx_file.is_file() or onnx_file.stat().st_size == 0:
        fail(f"{onnx_file} is missing or empty: convert the model with paddle2onnx first")
    try:
        images = list_images(args.img_path)
    except FileNotFoundError as exc:
        fail(str(exc))
    if not images:
        fail(f"no images found at {args.img_path}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.cpu_threads
    session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0]
    size = feed.shape[-1] if isinstance(feed.shape[-1], int) else IMAGE_SIZE
    print(f"model: {onnx_file} (onnxruntime {ort.__version__}, CPUExecutionProvider), threads: {args.cpu_threads}, "
          f"batch size: {args.batch_size}, images: {len(images)}", flush=True)
    start = time.time()
    for i in range(0, len(images), args.batch_size):
        paths = images[i : i + args.batch_size]
        batch = np.stack([load_image(p, size) for p in paths])
        probs = session.run(None, {feed.name: batch})[0]
        for path, result in zip(paths, postprocess(np.asarray(probs), args.topk)):
            print(f"{path.name}\t{json.dumps(result)}", flush=True)
    print(f"{len(images)} images in {time.time() - start:.3f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

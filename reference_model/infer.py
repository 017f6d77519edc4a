"""Classify images with Paddle Inference (``paddle.inference.Config`` / ``create_predictor``).

Loads ``inference.json`` (Paddle 3, PIR) or ``inference.pdmodel`` (Paddle 2 / legacy) from
``--model-dir``. Prints one line per image, as TIPC's compare_results expects::

    <image basename>\\t{"class_ids": [3], "scores": [0.98765]}

``--benchmark=True`` adds the AutoLog block (``auto_log.AutoLogger`` when installed, otherwise
``tipc_autolog.logger.AutoLogger``). Unsupported combinations (fp16 on CPU, int8 on a float
model, a GPU on a CPU-only build, ...) stop with a one-line error and exit status 2.

    python reference_model/infer.py --model-dir=out --img-path=test_images/demo --use-gpu=False \\
        --enable-mkldnn=True --cpu-threads=2 --batch-size=2 --precision=fp32 --benchmark=True
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import fail, str2bool
from data import IMAGE_SIZE, list_images, load_image
from model_stats import find_model

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_IMAGES = REPO_ROOT / "test_images" / "demo"
PRECISIONS = ("fp32", "fp16", "int8")


def get_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="MobileNetV3-small inference with Paddle Inference")
    p.add_argument("--model-dir", "--model_dir", default="./inference", help="directory of the exported model")
    p.add_argument("--img-path", "--image_dir", "--img_path", default=str(DEFAULT_IMAGES),
                   help="an image, a directory of images, or a list file")
    p.add_argument("--use-gpu", "--use_gpu", type=str2bool, default=False)
    p.add_argument("--gpu-id", type=int, default=0)
    p.add_argument("--gpu-mem", type=int, default=500, help="initial GPU memory pool (MB)")
    p.add_argument("--enable-mkldnn", "--enable_mkldnn", "--use_mkldnn", type=str2bool, default=False)
    p.add_argument("--cpu-threads", "--cpu_threads", type=int, default=1)
    p.add_argument("--use-tensorrt", "--use_tensorrt", type=str2bool, default=False)
    p.add_argument("--precision", default="fp32", type=str.lower, choices=PRECISIONS)
    p.add_argument("--batch-size", "--batch_size", type=int, default=1)
    p.add_argument("--topk", type=int, default=1)
    p.add_argument("--benchmark", type=str2bool, default=False, help="print the AutoLog block")
    p.add_argument("--warmup", type=int, default=2, help="untimed warm-up runs before the first image")
    p.add_argument("--save-log-path", "--save_log_path", default=None, help="also write the AutoLog block here")
    args = p.parse_args(argv)
    if args.batch_size < 1 or args.cpu_threads < 1:
        fail("--batch-size and --cpu-threads must be >= 1")
    return args


def model_info(model_dir: Path) -> dict[str, Any]:
    path = model_dir / "model_info.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def check_support(args: argparse.Namespace, info: dict[str, Any], cuda: bool) -> None:
    """Refuse what Paddle Inference cannot do here, with the reason and what would work."""
    if args.use_gpu and not cuda:
        fail("--use-gpu=True, but this Paddle build has no usable CUDA device "
             "(paddle.is_compiled_with_cuda() is False or no GPU is visible); use --use-gpu=False")
    if not args.use_gpu and args.use_tensorrt:
        fail("--use-tensorrt=True needs --use-gpu=True (TensorRT is a GPU engine)")
    quantized = bool(info.get("quantized"))
    if args.precision == "fp16" and not args.use_gpu:
        fail("--precision=fp16 is not supported on CPU: Paddle Inference has no fp16 CPU kernels "
             "(use --precision=fp32, int8 with a quantized model, or --use-gpu=True)")
    if args.precision == "int8" and not quantized:
        fail(f"--precision=int8 needs an int8-quantized model, but {args.model_dir} holds a float model "
             "(export a PACT checkpoint: train with --pact_quant, then export_model.py)")
    if args.precision == "int8" and args.use_tensorrt:
        fail("--precision=int8 with --use-tensorrt=True is not supported: this model's int8 arithmetic is "
             "explicit clip/round/scale ops, which TensorRT int8 would re-calibrate; use --use-tensorrt=False")
    if args.precision == "fp16" and quantized:
        fail("--precision=fp16 on an int8-quantized model is not supported; use --precision=int8")


def make_config(args: argparse.Namespace, prog: Path, params: Path) -> Any:
    from paddle import inference

    config = inference.Config(str(prog), str(params))
    if args.use_gpu:
        precision = inference.PrecisionType.Half if args.precision == "fp16" else inference.PrecisionType.Float32
        if args.use_tensorrt:
            config.enable_use_gpu(args.gpu_mem, args.gpu_id)
            config.enable_tensorrt_engine(workspace_size=1 << 30, max_batch_size=args.batch_size,
                                          min_subgraph_size=3, precision_mode=precision,
                                          use_static=False, use_calib_mode=False)
        else:
            config.enable_use_gpu(args.gpu_mem, args.gpu_id, precision)
    else:
        config.disable_gpu()
        config.set_cpu_math_library_num_threads(args.cpu_threads)
        if args.enable_mkldnn:
            config.enable_mkldnn()
            config.set_mkldnn_cache_capacity(10)
        else:
            config.disable_mkldnn()  # Paddle 3 enables oneDNN by default
    config.switch_ir_optim(True)
    if prog.suffix == ".pdmodel":
        # Not for inference.json: in Paddle 3.3.1 memory optim breaks create_predictor on PIR
        # programs (PaddlePaddle/Paddle#75496).
        config.enable_memory_optim()
    config.disable_glog_info()
    return config


def load_autologger() -> Any:
    try:
        from auto_log import AutoLogger
    except ImportError:
        if str(REPO_ROOT) not in sys.path:
            sys.path.append(str(REPO_ROOT))
        try:
            from tipc_autolog.logger import AutoLogger
        except ImportError:
            return None
    return AutoLogger


def postprocess(probs: np.ndarray, topk: int) -> list[dict[str, list[Any]]]:
    out = []
    for row in probs.reshape(probs.shape[0], -1):
        ids = np.argsort(-row, kind="stable")[:topk]
        out.append({"class_ids": [int(i) for i in ids], "scores": [round(float(row[i]), 5) for i in ids]})
    return out


def main(argv: list[str] | None = None) -> int:
    args = get_args(argv)
    import paddle
    from paddle import inference

    model_dir = Path(args.model_dir)
    try:
        prog, params = find_model(model_dir)
    except FileNotFoundError as exc:
        fail(str(exc))
    info = model_info(model_dir)
    cuda = bool(paddle.is_compiled_with_cuda()) and paddle.device.cuda.device_count() > 0
    check_support(args, info, cuda)
    try:
        images = list_images(args.img_path)
    except FileNotFoundError as exc:
        fail(str(exc))
    if not images:
        fail(f"no images found at {args.img_path}")
    size = int(info.get("input_shape", [3, IMAGE_SIZE, IMAGE_SIZE])[-1])

    config = make_config(args, prog, params)
    predictor = inference.create_predictor(config)
    input_handle = predictor.get_input_handle(predictor.get_input_names()[0])
    output_handle = predictor.get_output_handle(predictor.get_output_names()[0])

    def run(batch: np.ndarray) -> np.ndarray:
        input_handle.reshape(list(batch.shape))
        input_handle.copy_from_cpu(batch)
        predictor.run()
        return output_handle.copy_to_cpu()

    device = "gpu" if args.use_gpu else "cpu"
    print(f"model: {prog} ({info.get('kind', 'unknown kind')}), device: {device}, "
          f"mkldnn: {args.enable_mkldnn and not args.use_gpu}, threads: {args.cpu_threads}, "
          f"tensorrt: {args.use_tensorrt}, precision: {args.precision}, batch size: {args.batch_size}, "
          f"images: {len(images)}", flush=True)
    if args.precision == "int8" and not args.use_gpu:
        print("int8: the model carries int8 weights and int8-quantized activations; Paddle Inference runs "
              "its clip/round/scale arithmetic" + (" with oneDNN" if args.enable_mkldnn else ""), flush=True)

    for _ in range(max(0, args.warmup)):
        run(np.zeros((args.batch_size, 3, size, size), dtype="float32"))

    autolog = None
    if args.benchmark:
        logger_cls = load_autologger()
        if logger_cls is None:
            print("WARNING: --benchmark=True but neither auto_log nor tipc_autolog.logger can be imported; "
                  "skipping the AutoLog block", flush=True)
        else:
            autolog = logger_cls(
                model_name="mobilenet_v3_small", model_precision=args.precision, batch_size=args.batch_size,
                data_shape=[3, size, size], save_path=args.save_log_path, inference_config=config,
                pids=os.getpid(), process_name=None, gpu_ids=args.gpu_id if args.use_gpu else None,
                time_keys=["preprocess_time", "inference_time", "postprocess_time"], warmup=0, logger=None)

    start = time.time()
    for i in range(0, len(images), args.batch_size):
        paths = images[i : i + args.batch_size]
        if autolog:
            autolog.times.start()
        batch = np.stack([load_image(p, size) for p in paths])
        if autolog:
            autolog.times.stamp()
        probs = run(batch)
        if autolog:
            autolog.times.stamp()
        results = postprocess(probs, args.topk)
        if autolog:
            autolog.times.end(stamp=True)
        for path, result in zip(paths, results):
            print(f"{path.name}\t{json.dumps(result)}", flush=True)
    print(f"{len(images)} images in {time.time() - start:.3f} s", flush=True)
    if autolog:
        autolog.report()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

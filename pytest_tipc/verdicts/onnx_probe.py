"""Run one model on Paddle Inference and on onnxruntime with the same inputs; save both outputs.

A standalone script (numpy, Pillow, paddle, onnxruntime; no pytest_tipc import), run by
:mod:`pytest_tipc.verdicts.onnx` with the interpreter of the config's steps, so Paddle never loads
into the pytest process::

    python onnx_probe.py --model-dir D --model-filename inference.json --params-filename inference.pdiparams \\
        --onnx model.onnx --images test_images/demo --out compare.npz

Inputs: the images under ``--images`` (a file or a directory; at most ``--limit``), decoded as RGB,
resized to the model's input height and width and normalised with the ImageNet mean/std, one
image per run; a model whose first input is not an NCHW float image gets seeded random data.
Both runtimes see identical arrays, so only the runtimes differ. ``--out`` holds ``names``,
``paddle_<i>`` and ``onnx_<i>`` (every output of input ``i``, flattened and concatenated) and
``info`` (a JSON string: input name and shape, opset, what was fed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
MEAN = np.array([0.485, 0.456, 0.406], dtype="float32")
STD = np.array([0.229, 0.224, 0.225], dtype="float32")
DEFAULT_SIZE = 224


def image_files(path: str, limit: int) -> list[Path]:
    if not path:
        return []
    p = Path(path)
    if p.is_dir():
        files = sorted(q for q in p.rglob("*") if q.suffix.lower() in SUFFIXES)
    elif p.is_file() and p.suffix.lower() in SUFFIXES:
        files = [p]
    else:
        files = []
    return files[:limit]


def load(path: Path, height: int, width: int) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as opened:
        rgb = opened.convert("RGB")
    if rgb.size != (width, height):
        rgb = rgb.resize((width, height), Image.Resampling.BILINEAR)
    arr = (np.asarray(rgb, dtype="float32") / 255.0 - MEAN) / STD
    return np.ascontiguousarray(arr.transpose(2, 0, 1))[None]


def _dim(value: Any, default: int) -> int:
    return value if isinstance(value, int) and value > 0 else default


def inputs_for(session: Any, images: list[Path], limit: int) -> tuple[list[str], list[dict[str, np.ndarray]], str]:
    feeds = session.get_inputs()
    first = feeds[0]
    shape = list(first.shape)
    is_image = len(shape) == 4 and "float" in first.type and _dim(shape[1], 3) == 3 and len(feeds) == 1
    if is_image and images:
        height, width = _dim(shape[2], DEFAULT_SIZE), _dim(shape[3], DEFAULT_SIZE)
        return ([p.name for p in images], [{first.name: load(p, height, width)} for p in images],
                f"{len(images)} images, {height}x{width}, ImageNet mean/std")
    rng = np.random.default_rng(0)
    names, runs = [], []
    for i in range(min(limit, 4)):
        feed = {}
        for spec in feeds:
            dims = [_dim(d, 1 if k == 0 else DEFAULT_SIZE if len(spec.shape) == 4 else 1) for k, d in enumerate(spec.shape)]
            dtype = "int64" if "int64" in spec.type else "int32" if "int32" in spec.type else "float32"
            feed[spec.name] = (rng.integers(0, 2, dims) if dtype != "float32" else rng.standard_normal(dims)).astype(dtype)
        names.append(f"random_{i}")
        runs.append(feed)
    return names, runs, "seeded random inputs (no images, or the model's input is not one NCHW float image)"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model-dir", required=True)
    p.add_argument("--model-filename", required=True)
    p.add_argument("--params-filename", required=True)
    p.add_argument("--onnx", required=True)
    p.add_argument("--images", default="")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    here = Path(__file__).resolve().parent  # run as a script, its folder (with verdicts/onnx.py) is on sys.path
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != here]
    try:
        import onnx
        import onnxruntime as ort
        from paddle import inference
    except ImportError as exc:
        print(f"ERROR: {exc.name} is not importable by {sys.executable} (install the plugin's .[onnx] extra "
              "and paddlepaddle)", file=sys.stderr)
        return 3
    session = ort.InferenceSession(args.onnx, providers=["CPUExecutionProvider"])
    names, runs, fed = inputs_for(session, image_files(args.images, args.limit), args.limit)
    model_dir = Path(args.model_dir)
    config = inference.Config(str(model_dir / args.model_filename), str(model_dir / args.params_filename))
    config.disable_gpu()
    config.disable_mkldnn()
    config.switch_ir_optim(True)
    config.disable_glog_info()
    predictor = inference.create_predictor(config)
    arrays: dict[str, np.ndarray] = {}
    for i, feed in enumerate(runs):
        for name, handle_name in zip(feed, predictor.get_input_names()):
            handle = predictor.get_input_handle(handle_name)
            handle.reshape(list(feed[name].shape))
            handle.copy_from_cpu(feed[name])
        predictor.run()
        paddle_out = [predictor.get_output_handle(n).copy_to_cpu() for n in predictor.get_output_names()]
        onnx_out = session.run(None, feed)
        arrays[f"paddle_{i}"] = np.concatenate([np.asarray(a, dtype="float64").ravel() for a in paddle_out])
        arrays[f"onnx_{i}"] = np.concatenate([np.asarray(a, dtype="float64").ravel() for a in onnx_out])
    model = onnx.load(args.onnx, load_external_data=False)
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    info = {"inputs": [[s.name, [str(d) for d in s.shape]] for s in session.get_inputs()], "fed": fed,
            "opset": opset, "onnxruntime": ort.__version__}
    arrays["names"] = np.array(names)
    arrays["info"] = np.array(json.dumps(info))
    np.savez(args.out, **arrays)  # type: ignore[arg-type]  # numpy stubs type **kwds as the allow_pickle flag
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

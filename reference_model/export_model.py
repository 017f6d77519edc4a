"""Export a checkpoint to a Paddle Inference model with ``paddle.jit.save``.

Paddle 3 writes ``inference.json`` + ``inference.pdiparams`` (PIR), Paddle 2 (or Paddle 3 with
``FLAGS_enable_pir_api=0``) ``inference.pdmodel`` + ``inference.pdiparams``. The network ends in
a softmax, so the predictor returns class probabilities. ``model_info.json`` records what was
exported (input shape, classes, quantized/pruned, parameter and FLOP counts).

The checkpoint describes itself (see checkpoint.py): an FPGM-pruned one exports the narrower
network, a PACT one exports the int8 network (int8 weights in ``.pdiparams``; see pact.py).

    python reference_model/export_model.py --pretrained=out/latest --save-inference-dir=out
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import checkpoint
import pact
import paddle
from common import add_bool_flag, fail, str2bool
from data import IMAGE_SIZE
from mobilenetv3 import Arch, count_params
from model_stats import program_stats
from paddle import nn
from paddle.framework import use_pir_api
from paddle.static import InputSpec

MODEL_NAME = "mobilenet_v3_small"


class WithSoftmax(nn.Layer):
    def __init__(self, model: nn.Layer) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return nn.functional.softmax(self.model(x), axis=-1)


def get_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Export MobileNetV3-small to a Paddle Inference model")
    p.add_argument("--pretrained", required=True, help="checkpoint (.pdparams, suffix optional)")
    p.add_argument("--save-inference-dir", "--save_inference_dir", default="./inference",
                   help="output directory (inference.json/.pdmodel + inference.pdiparams)")
    p.add_argument("--model", default=MODEL_NAME, help="model name (only mobilenet_v3_small)")
    p.add_argument("--img-size", type=int, default=IMAGE_SIZE)
    add_bool_flag(p, "--pact_quant", "--pact-quant",
                  help="require a PACT checkpoint (PACT checkpoints are detected without it)")
    p.add_argument("--use-gpu", "--use_gpu", type=str2bool, default=None, help="ignored: export runs on CPU")
    p.add_argument("--device", default=None, help="ignored: export runs on CPU")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = get_args(argv)
    if args.model != MODEL_NAME:
        fail(f"--model={args.model}: this exporter only builds {MODEL_NAME}")
    paddle.set_device("cpu")
    try:
        state = checkpoint.load_state(args.pretrained)
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc))
    quantized = pact.is_pact_state(state)
    if args.pact_quant and not quantized:
        fail(f"--pact_quant: {args.pretrained} is not a PACT checkpoint (it has no *.act_alpha tensors); "
             "train it with --pact_quant first")
    if quantized and not use_pir_api():
        fail("the int8 (PACT) export needs Paddle's PIR program format (the Paddle 3 default); "
             "FLAGS_enable_pir_api=0 cannot trace its round/clip ops in Paddle " + paddle.__version__)
    model = checkpoint.build(state)
    kind = checkpoint.describe(model)
    pruned = model.arch != Arch.default(model.arch.num_classes)
    float_params = count_params(model)
    if quantized:
        pact.freeze(model)
    model.eval()
    out_dir = Path(args.save_inference_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    net = WithSoftmax(model)
    net.eval()
    spec = [InputSpec(shape=[None, 3, args.img_size, args.img_size], dtype="float32", name="x")]
    # Write into a private directory, then move each file into place: concurrent exports of the
    # same weights into one directory (whole_infer of several configs) never expose a partial file.
    with tempfile.TemporaryDirectory(prefix=".export.", dir=out_dir) as tmp_name:
        tmp = Path(tmp_name)
        paddle.jit.save(net, str(tmp / "inference"), input_spec=spec)
        stats = program_stats(tmp)
        info = {
            "model_name": args.model,
            "checkpoint": str(checkpoint.resolve(args.pretrained)),
            "kind": kind,
            "input_shape": [3, args.img_size, args.img_size],
            "num_classes": model.arch.num_classes,
            "quantized": quantized,
            "quantization": "int8 PACT: per-channel int8 weights, int8 activations (clip/round/scale ops)"
            if quantized else None,
            "pruned": pruned,
            "widths": {"hidden": [b.hidden for b in model.arch.blocks],
                       "se": [b.se_channels for b in model.arch.blocks],
                       "last": model.arch.last, "fc1": model.arch.hidden},
            "train_params": float_params,
            "program": Path(str(stats["model"])).name,
            "params": stats["params"],
            "param_bytes": stats["param_bytes"],
            "flops": stats["flops"],
            "paddle_version": paddle.__version__,
        }
        (tmp / "model_info.json").write_text(json.dumps(info, indent=2) + "\n")
        stale = {"inference.json", "inference.pdmodel"} - {info["program"]}
        for name in stale:  # a model exported earlier in the other format must not shadow this one
            (out_dir / name).unlink(missing_ok=True)
        for item in sorted(tmp.iterdir(), key=lambda p: p.name == "model_info.json"):
            os.replace(item, out_dir / item.name)
    print(f"exported {kind} {args.model} to {out_dir / info['program']} (+ inference.pdiparams): "
          f"{info['params']} parameters ({info['param_bytes'] / 1e6:.2f} MB), {info['flops'] / 1e6:.2f} MFLOPs "
          f"(MACs per {args.img_size}x{args.img_size} image)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Parameters and FLOPs of an *exported* inference model, counted from its program.

Works on Paddle 3 PIR programs (``inference.json``) and legacy programs (``inference.pdmodel``).
FLOPs are multiply-accumulates of the convolutions (including depthwise) and matrix products for
one image, which dominate this network; parameters are the elements of every persistable weight
the program loads (int8 weights of a quantized export count one each, like fp32 ones).

    python reference_model/model_stats.py <model dir>        # prints one JSON line
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import paddle

MAC_OPS = {"conv2d", "depthwise_conv2d", "matmul", "matmul_v2", "mul", "fc"}


def find_model(model_dir: str | Path) -> tuple[Path, Path]:
    """``(program file, params file)`` of the inference model in ``model_dir``."""
    d = Path(model_dir)
    for stem in ("inference", "model"):
        for ext in (".json", ".pdmodel"):
            if (d / (stem + ext)).is_file() and (d / (stem + ".pdiparams")).is_file():
                return d / (stem + ext), d / (stem + ".pdiparams")
    for prog in sorted([*d.glob("*.json"), *d.glob("*.pdmodel")]):
        params = prog.with_suffix(".pdiparams")
        if params.is_file():
            return prog, params
    raise FileNotFoundError(
        f"no inference model in {model_dir}: expected inference.json (Paddle 3) or inference.pdmodel "
        "(Paddle 2) next to inference.pdiparams")


def _numel(shape: list[int] | tuple[int, ...]) -> int:
    return int(math.prod(max(int(s), 1) for s in shape))  # -1 (batch) counts as 1


def _macs(kind: str, inputs: list[list[int]], outputs: list[list[int]], attrs: dict[str, object]) -> int:
    if kind in ("conv2d", "depthwise_conv2d"):
        w = inputs[1]  # [out, in / groups, kh, kw]
        return _numel(outputs[0]) * w[1] * w[2] * w[3]
    # matmul: output elements x contracted dimension
    x = inputs[0]
    transpose_x = bool(attrs.get("transpose_x", False) or attrs.get("trans_x", False))
    k = x[-2] if transpose_x else x[-1]
    return _numel(outputs[0]) * int(k)


def program_stats(model_dir: str | Path) -> dict[str, object]:
    prog_file, _ = find_model(model_dir)
    prefix = str(prog_file.with_suffix(""))
    paddle.enable_static()
    try:
        exe = paddle.static.Executor(paddle.CPUPlace())
        program, _, _ = paddle.static.load_inference_model(prefix, exe)
        flops = params = param_bytes = 0
        by_op: dict[str, int] = {}
        if prog_file.suffix == ".json":  # PIR
            for op in program.global_block().ops:
                name = op.name().split(".")[-1]
                if name == "parameter":
                    shape = list(op.results()[0].shape)
                    params += _numel(shape)
                    param_bytes += _numel(shape) * _dtype_size(str(op.results()[0].dtype))
                elif name in MAC_OPS:
                    ins = [list(v.shape) for v in op.operands_source()]
                    outs = [list(r.shape) for r in op.results()]
                    macs = _macs(name, ins, outs, op.attrs())
                    flops += macs
                    by_op[name] = by_op.get(name, 0) + macs
        else:  # legacy ProgramDesc
            block = program.global_block()
            for var in program.list_vars():
                if var.persistable and var.name not in ("feed", "fetch"):
                    params += _numel(var.shape)
                    param_bytes += _numel(var.shape) * _dtype_size(str(var.dtype))
            for op in block.ops:
                if op.type in MAC_OPS:
                    in_name = "Filter" if "conv" in op.type else "Y"
                    x_name = "Input" if "conv" in op.type else "X"
                    ins = [list(block.var(op.input(x_name)[0]).shape), list(block.var(op.input(in_name)[0]).shape)]
                    out_key = "Output" if "conv" in op.type else "Out"
                    outs = [list(block.var(op.output(out_key)[0]).shape)]
                    attrs = {k: op.attr(k) for k in ("trans_x", "transpose_X") if op.has_attr(k)}
                    macs = _macs(op.type, ins, outs, attrs)
                    flops += macs
                    by_op[op.type] = by_op.get(op.type, 0) + macs
    finally:
        paddle.disable_static()
    return {"model": str(prog_file), "flops": flops, "params": params, "param_bytes": param_bytes,
            "flops_by_op": by_op}


def _dtype_size(dtype: str) -> int:
    d = dtype.lower()
    if "int8" in d or "uint8" in d or "bool" in d:
        return 1
    if "16" in d:
        return 2
    if "64" in d:
        return 8
    return 4


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="FLOPs and parameters of an exported inference model")
    parser.add_argument("model_dir")
    args = parser.parse_args(argv)
    print(json.dumps(program_stats(args.model_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

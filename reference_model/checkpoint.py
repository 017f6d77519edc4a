"""Checkpoints: saving, loading, and rebuilding the right network from a checkpoint alone.

A checkpoint is a plain ``.pdparams`` state dict. It describes itself:

* weight shapes give the widths (an FPGM-pruned network is rebuilt narrower);
* ``*.act_alpha`` keys mark a PACT quantization-aware model.

So eval, predict and export need no flag to know what they load. Paths may be given with or
without the ``.pdparams`` suffix (the TIPC harness passes ``<save_dir>/latest``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pact
import paddle
from mobilenetv3 import Arch, MobileNetV3Small, arch_from_state_dict
from paddle import nn

SUFFIX = ".pdparams"


def resolve(path: str | os.PathLike[str]) -> Path:
    """The ``.pdparams`` file that ``path`` names (with or without the suffix)."""
    p = Path(path)
    for candidate in (p, Path(str(p) + SUFFIX)):
        if candidate.is_file():
            return candidate
    if p.is_dir():
        for name in ("latest" + SUFFIX, "best" + SUFFIX, "model" + SUFFIX):
            if (p / name).is_file():
                return p / name
    raise FileNotFoundError(f"no checkpoint at {path} (also tried {path}{SUFFIX})")


def load_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    state = paddle.load(str(resolve(path)))
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a state dict")
    # weights may be stored in a narrower float type to keep committed files small
    return {k: (v.astype("float32") if isinstance(v, paddle.Tensor) and v.dtype in (paddle.float16, paddle.bfloat16)
                else v) for k, v in state.items()}


def unwrap(model: nn.Layer) -> nn.Layer:
    return model._layers if isinstance(model, paddle.DataParallel) else model


def build(state: dict[str, Any] | None = None, *, num_classes: int = 10, pact_quant: bool = False,
          dropout: float = 0.2) -> MobileNetV3Small:
    """A network shaped like ``state`` (default widths without one), PACT-wrapped when the state
    is a PACT checkpoint or ``pact_quant`` is set, with ``state`` loaded."""
    arch = arch_from_state_dict(state) if state is not None else Arch.default(num_classes)
    model = MobileNetV3Small(arch, dropout=dropout)
    is_pact = state is not None and pact.is_pact_state(state)
    if state is not None and not is_pact:
        _load(model, state)
    if is_pact or pact_quant:
        pact.quantize(model)
    if is_pact:
        _load(model, state)
    return model


def _load(model: nn.Layer, state: dict[str, Any]) -> None:
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    if missing:
        raise ValueError(f"checkpoint lacks {len(missing)} tensors, e.g. {missing[:3]}")
    model.set_state_dict({k: v for k, v in state.items() if k in own})


def describe(model: MobileNetV3Small) -> str:
    kinds = []
    if model.arch != Arch.default(model.arch.num_classes):
        kinds.append("FPGM-pruned")
    if any(hasattr(layer, pact.ALPHA_KEY) for _, layer in pact.quant_layers(model)):
        kinds.append("PACT int8 QAT")
    return ", ".join(kinds) or "float"


def save(model: nn.Layer, optimizer: paddle.optimizer.Optimizer | None, out_dir: str | os.PathLike[str],
         name: str = "latest") -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = unwrap(model).state_dict()
    state = {k: (v.astype("float32") if v.dtype in (paddle.float16, paddle.bfloat16) else v) for k, v in state.items()}
    target = out / (name + SUFFIX)
    tmp = out / (name + SUFFIX + ".tmp")
    paddle.save(state, str(tmp))
    os.replace(tmp, target)
    if optimizer is not None:
        paddle.save(optimizer.state_dict(), str(out / (name + ".pdopt")))
    return target

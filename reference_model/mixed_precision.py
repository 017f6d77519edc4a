"""Automatic mixed precision for training: fp16 on GPU, bf16 on CPU.

**GPU**: ``paddle.amp.auto_cast(level, dtype="float16")`` with a ``GradScaler`` (dynamic loss
scaling, fp16 needs it); O2 also ``paddle.amp.decorate``\\ s the model and optimizer (fp16
weights with fp32 master copies; checkpoints are saved in fp32).

**CPU**: Paddle 3.3.1 has no CPU bf16 kernels (conv2d, matmul, batch_norm, ... are registered for
fp32/fp64 only) and ``paddle.amp.auto_cast`` is a no-op on ``CPUPlace`` (it warns "amp_guard can
only be enabled on CUDAPlace, XPUPlace, and CustomPlace"). So bf16 AMP is *emulated* numerically:

* O1: the inputs and weights of every conv and linear layer (AMP's white list) are rounded to
  bf16 (``cast`` to bfloat16 and back); products accumulate in fp32, as bf16 hardware does;
* O2: additionally every layer's output is rounded to bf16, so activations live in bf16; the
  optimizer still updates fp32 master weights.

Gradients through the casts are rounded to bf16 as well. No loss scaling: bf16 has fp32's
exponent range. This gives bf16's numerics (what AMP certification checks), not its speed.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator

import paddle
import paddle.nn.functional as F
from paddle import nn

LEVELS = ("O1", "O2")


def _bf16(x: paddle.Tensor) -> paddle.Tensor:
    return x.astype("bfloat16").astype("float32")


def _bf16_forward(self: nn.Layer, x: paddle.Tensor) -> paddle.Tensor:
    w = _bf16(self.weight)
    x = _bf16(x)
    if isinstance(self, nn.Conv2D):
        return F.conv2d(x, w, self.bias, self._stride, self._padding, self._dilation, self._groups,
                        self._data_format)
    return F.linear(x, w, self.bias)


def _round_output(layer: nn.Layer, inputs: tuple[paddle.Tensor, ...], output: paddle.Tensor) -> paddle.Tensor:
    return _bf16(output) if isinstance(output, paddle.Tensor) and output.dtype == paddle.float32 else output


class Amp:
    """``with amp.autocast(): loss = ...`` then ``amp.step(loss, optimizer)``."""

    def __init__(self, level: str | None, device: str) -> None:
        self.level = (level or "").upper() or None
        if self.level in ("O0", "NONE", "NULL", "FALSE"):
            self.level = None
        if self.level is not None and self.level not in LEVELS:
            raise ValueError(f"--amp_level must be O1 or O2, got {level!r}")
        self.device = device
        self.dtype = "float16" if device == "gpu" else "bfloat16"
        self.emulated = self.level is not None and device != "gpu"
        self.scaler: paddle.amp.GradScaler | None = None

    @property
    def enabled(self) -> bool:
        return self.level is not None

    def describe(self) -> str:
        if not self.enabled:
            return "AMP: off (fp32)"
        if self.emulated:
            return (f"AMP: level {self.level}, dtype bfloat16 on CPU, emulated (Paddle {paddle.__version__} has no CPU "
                    "bf16 kernels; conv/linear inputs and weights rounded to bf16"
                    + (", every layer output rounded to bf16" if self.level == "O2" else "")
                    + "; fp32 accumulation and master weights; no loss scaling)")
        return f"AMP: level {self.level}, dtype float16 on GPU, GradScaler(init_loss_scaling=1024)"

    def prepare(self, model: nn.Layer, optimizer: paddle.optimizer.Optimizer) -> tuple[nn.Layer, paddle.optimizer.Optimizer]:
        if not self.enabled:
            return model, optimizer
        if self.emulated:
            for layer in model.sublayers():
                if isinstance(layer, (nn.Conv2D, nn.Linear)):
                    layer.forward = types.MethodType(_bf16_forward, layer)
                if self.level == "O2" and not layer.sublayers():
                    layer.register_forward_post_hook(_round_output)
            return model, optimizer
        self.scaler = paddle.amp.GradScaler(init_loss_scaling=1024)
        if self.level == "O2":
            model, optimizer = paddle.amp.decorate(models=model, optimizers=optimizer, level="O2",
                                                   dtype=self.dtype, save_dtype="float32")
        return model, optimizer

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        if self.enabled and not self.emulated:
            with paddle.amp.auto_cast(level=self.level, dtype=self.dtype):
                yield
        else:
            yield

    def step(self, loss: paddle.Tensor, optimizer: paddle.optimizer.Optimizer) -> None:
        if self.scaler is not None:
            scaled = self.scaler.scale(loss)
            scaled.backward()
            self.scaler.minimize(optimizer, scaled)
        else:
            loss.backward()
            optimizer.step()
        optimizer.clear_grad()

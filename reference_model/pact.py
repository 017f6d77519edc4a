"""PACT quantization-aware training in plain Paddle (no paddleslim).

Every ``Conv2D`` and ``Linear`` of the network becomes an int8 layer:

* **activations** (the layer input) are clipped to ``[-alpha, alpha]`` with a learnable
  ``alpha`` (PACT, Choi et al. 2018; the clip is written as ``x - relu(x - a) + relu(-a - x)``
  so ``alpha`` gets the PACT gradient), then fake-quantized to 8 bits with scale ``alpha / 127``;
* **weights** are fake-quantized per output channel to 8 bits with scale ``max|w| / 127``.

Rounding uses the straight-through estimator. ``alpha`` starts at the largest input magnitude
seen on a calibration batch (:func:`calibrate`), then trains with the network.

The layers keep their parameter names (``stem.conv.weight``) and gain one (``stem.conv.act_alpha``),
so a PACT checkpoint is recognised by its ``act_alpha`` keys.

:func:`freeze` turns the model into its deployable form for ``paddle.jit.save``: each weight is
stored as an **int8** tensor plus a float per-channel scale (the exported ``.pdiparams`` holds
int8 weights), and the exported program computes ``clip -> round -> scale`` on activations and
``cast(int8) * scale`` on weights, exactly the arithmetic of int8 inference. Paddle 3.3.1's PIR
inference removes ``quantize_linear``/``dequantize_linear`` pairs on CPU and then runs plain fp32
(checked: its output equals the float model), so the quantization is written out as ordinary ops.
"""

from __future__ import annotations

import types
from collections.abc import Iterable
from typing import Any

import paddle
import paddle.nn.functional as F
from paddle import nn

QMAX = 127.0
ALPHA_KEY = "act_alpha"


def is_pact_state(state: dict[str, Any]) -> bool:
    return any(key.endswith("." + ALPHA_KEY) for key in state)


def quant_layers(model: nn.Layer) -> list[tuple[str, nn.Layer]]:
    return [(name, layer) for name, layer in model.named_sublayers()
            if isinstance(layer, (nn.Conv2D, nn.Linear))]


def _round_ste(x: paddle.Tensor) -> paddle.Tensor:
    return x + (paddle.round(x) - x).detach()


def _fake_quant_act(layer: nn.Layer, x: paddle.Tensor) -> paddle.Tensor:
    alpha = layer.act_alpha
    scale = alpha / QMAX
    if not layer.training:  # the exact arithmetic of the exported int8 layer
        return paddle.round(paddle.clip(x, min=-alpha, max=alpha) / scale) * scale
    x = x - F.relu(x - alpha) + F.relu(-alpha - x)  # PACT clip: d/d(alpha) = 1[x > a] - 1[x < -a]
    return _round_ste(x / scale) * scale


def _weight_scale(weight: paddle.Tensor, axis: int) -> paddle.Tensor:
    """Per-channel ``max|w| / 127`` along ``axis``, shaped to broadcast against ``weight``."""
    dims = [d for d in range(weight.ndim) if d != axis]
    absmax = paddle.max(paddle.abs(weight.detach()), axis=dims, keepdim=True)
    return paddle.clip(absmax, min=1e-8) / QMAX


def _weight_axis(layer: nn.Layer) -> int:
    return 0 if isinstance(layer, nn.Conv2D) else 1  # Linear weights are [in, out]


def _fake_quant_weight(layer: nn.Layer) -> paddle.Tensor:
    scale = _weight_scale(layer.weight, _weight_axis(layer))
    return _round_ste(layer.weight / scale) * scale


def _apply(layer: nn.Layer, x: paddle.Tensor, weight: paddle.Tensor) -> paddle.Tensor:
    if isinstance(layer, nn.Conv2D):
        return F.conv2d(x, weight, layer.bias, layer._stride, layer._padding, layer._dilation,
                        layer._groups, layer._data_format)
    return F.linear(x, weight, layer.bias)


def _qat_forward(self: nn.Layer, x: paddle.Tensor) -> paddle.Tensor:
    if not self._pact_enabled:
        return _apply(self, x, self.weight)
    return _apply(self, _fake_quant_act(self, x), _fake_quant_weight(self))


def quantize(model: nn.Layer, alpha_init: float = 6.0) -> nn.Layer:
    """Make every Conv2D/Linear of ``model`` a PACT fake-quant layer, in place."""
    for _, layer in quant_layers(model):
        if hasattr(layer, ALPHA_KEY):
            continue
        alpha = layer.create_parameter(
            [1], dtype="float32", default_initializer=nn.initializer.Constant(alpha_init),
            attr=paddle.ParamAttr(regularizer=paddle.regularizer.L2Decay(1e-4)),
        )
        setattr(layer, ALPHA_KEY, alpha)
        layer._pact_enabled = True
        layer.forward = types.MethodType(_qat_forward, layer)
    return model


def set_enabled(model: nn.Layer, enabled: bool) -> None:
    """Switch fake quantization off to get the float predictions of the same weights."""
    for _, layer in quant_layers(model):
        if hasattr(layer, ALPHA_KEY):
            layer._pact_enabled = enabled


@paddle.no_grad()
def calibrate(model: nn.Layer, batches: Iterable[paddle.Tensor], margin: float = 1.0,
              train_mode: bool = True) -> None:
    """Start each ``alpha`` at the largest input magnitude its layer sees on ``batches``.

    The batches run in train mode (batch statistics, as during the training that follows), and
    the BatchNorm running statistics are restored afterwards. Every process of a data-parallel
    job must pass the same batches, so that all start from the same alphas. Post-training
    quantisation (ptq.py) passes ``train_mode=False``: the alphas then describe the deployed
    network (running statistics) and are final.
    """
    seen: dict[str, float] = {}
    hooks = []
    for name, layer in quant_layers(model):
        def hook(lay: nn.Layer, inputs: tuple[paddle.Tensor, ...], name: str = name) -> None:
            seen[name] = max(seen.get(name, 0.0), float(paddle.abs(inputs[0]).max()))
        hooks.append(layer.register_forward_pre_hook(hook))
    bn_state = {k: v.clone() for k, v in model.state_dict().items() if k.endswith(("_mean", "_variance"))}
    was_training = model.training
    set_enabled(model, False)
    model.train(train_mode)
    try:
        for x in batches:
            model(x)
    finally:
        for h in hooks:
            h.remove()
        set_enabled(model, True)
        model.set_state_dict(bn_state)
        model.train(was_training)
    for name, layer in quant_layers(model):
        if name in seen:
            layer.act_alpha.set_value(paddle.to_tensor([max(seen[name] * margin, 1e-3)], dtype="float32"))


class Int8Conv2D(nn.Layer):
    """Deployable form of a PACT conv: int8 weights plus per-channel scales."""

    def __init__(self, conv: nn.Conv2D) -> None:
        super().__init__()
        self._stride, self._padding, self._dilation = conv._stride, conv._padding, conv._dilation
        self._groups, self._data_format = conv._groups, conv._data_format
        _freeze_common(self, conv, axis=0)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return F.conv2d(_quant_input(self, x), _dequant_weight(self), self.bias, self._stride,
                        self._padding, self._dilation, self._groups, self._data_format)


class Int8Linear(nn.Layer):
    """Deployable form of a PACT linear layer: int8 weights plus per-column scales."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        _freeze_common(self, linear, axis=1)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return F.linear(_quant_input(self, x), _dequant_weight(self), self.bias)


def _freeze_common(new: nn.Layer, old: nn.Layer, axis: int) -> None:
    weight = old.weight.detach()
    scale = _weight_scale(weight, axis)
    q = paddle.clip(paddle.round(weight / scale), -QMAX, QMAX).astype("int8")
    new.register_buffer("weight_int8", q)
    new.register_buffer("weight_scale", scale.astype("float32"))
    alpha = old.act_alpha.detach().astype("float32")
    new.register_buffer("act_alpha", alpha)
    new.register_buffer("act_scale", alpha / QMAX)
    new.bias = old.bias


def _quant_input(layer: nn.Layer, x: paddle.Tensor) -> paddle.Tensor:
    x = paddle.clip(x, min=-layer.act_alpha, max=layer.act_alpha)
    return paddle.round(x / layer.act_scale) * layer.act_scale


def _dequant_weight(layer: nn.Layer) -> paddle.Tensor:
    return paddle.cast(layer.weight_int8, "float32") * layer.weight_scale


def freeze(model: nn.Layer) -> nn.Layer:
    """Replace every PACT layer by its int8 deployable twin (for export), in place."""
    for name, layer in quant_layers(model):
        if not hasattr(layer, ALPHA_KEY):
            continue
        parent = model
        *path, leaf = name.split(".")
        for part in path:
            parent = getattr(parent, part)
        twin = Int8Conv2D(layer) if isinstance(layer, nn.Conv2D) else Int8Linear(layer)
        setattr(parent, leaf, twin)
    return model

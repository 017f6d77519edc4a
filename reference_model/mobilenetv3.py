"""MobileNetV3-small (Howard et al., 2019) in Paddle, with per-layer channel counts so that a
pruned network can be rebuilt from its own checkpoint.

The architecture is the paper's "small" variant at width 1.0: a 3x3 stride-2 stem, eleven
inverted-residual blocks (expansion 1x1 conv, depthwise kxk conv, optional squeeze-excitation,
projection 1x1 conv), a 1x1 conv to 576 channels, global average pooling, a 1024-wide hidden
layer and the classifier. Only the *inner* widths (each block's expanded width, its SE width, the
last conv width and the hidden width) may differ from the defaults: those are the widths FPGM
pruning removes, and :func:`arch_from_state_dict` reads them back from weight shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import paddle
from paddle import nn

# kernel, expanded width, output width, squeeze-excitation, activation, stride
SMALL_BLOCKS: tuple[tuple[int, int, int, bool, str, int], ...] = (
    (3, 16, 16, True, "relu", 2),
    (3, 72, 24, False, "relu", 2),
    (3, 88, 24, False, "relu", 1),
    (5, 96, 40, True, "hardswish", 2),
    (5, 240, 40, True, "hardswish", 1),
    (5, 240, 40, True, "hardswish", 1),
    (5, 120, 48, True, "hardswish", 1),
    (5, 144, 48, True, "hardswish", 1),
    (5, 288, 96, True, "hardswish", 2),
    (5, 576, 96, True, "hardswish", 1),
    (5, 576, 96, True, "hardswish", 1),
)
STEM_CHANNELS = 16
LAST_CHANNELS = 576
HIDDEN_CHANNELS = 1024
BN_MOMENTUM = 0.7


def make_divisible(value: float, divisor: int = 8) -> int:
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


@dataclass(frozen=True)
class BlockSpec:
    kernel: int
    in_channels: int
    hidden: int
    out_channels: int
    se_channels: int  # 0: no squeeze-excitation
    act: str
    stride: int
    # The paper's first block has no expansion conv: its depthwise conv works on the input.
    has_expand: bool = True

    @property
    def use_residual(self) -> bool:
        return self.stride == 1 and self.in_channels == self.out_channels


@dataclass(frozen=True)
class Arch:
    """Every width of the network. ``Arch.default()`` is MobileNetV3-small x1.0."""

    blocks: tuple[BlockSpec, ...]
    stem: int = STEM_CHANNELS
    last: int = LAST_CHANNELS
    hidden: int = HIDDEN_CHANNELS
    num_classes: int = 10

    @classmethod
    def default(cls, num_classes: int = 10) -> Arch:
        blocks = []
        cin = STEM_CHANNELS
        for kernel, hidden, cout, se, act, stride in SMALL_BLOCKS:
            se_ch = make_divisible(hidden / 4) if se else 0
            blocks.append(BlockSpec(kernel, cin, hidden, cout, se_ch, act, stride, has_expand=hidden != cin))
            cin = cout
        return cls(tuple(blocks), num_classes=num_classes)


def _act(name: str) -> nn.Layer:
    return nn.ReLU() if name == "relu" else nn.Hardswish()


class ConvBNAct(nn.Layer):
    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1,
                 act: str | None = None) -> None:
        super().__init__()
        self.conv = nn.Conv2D(cin, cout, kernel, stride=stride, padding=(kernel - 1) // 2,
                              groups=groups, bias_attr=False)
        # lite_data epochs are ~20 iterations: running statistics must keep up with a network that
        # changes fast, or eval-mode predictions collapse early in training (momentum 0.9 does).
        self.bn = nn.BatchNorm2D(cout, momentum=BN_MOMENTUM)
        self.act = _act(act) if act else None

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        x = self.bn(self.conv(x))
        return self.act(x) if self.act is not None else x


class SqueezeExcite(nn.Layer):
    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2D(1)
        self.fc1 = nn.Conv2D(channels, squeeze, 1)
        self.relu = nn.ReLU()
        self.fc2 = nn.Conv2D(squeeze, channels, 1)
        self.gate = nn.Hardsigmoid()

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        scale = self.gate(self.fc2(self.relu(self.fc1(self.pool(x)))))
        return x * scale


class InvertedResidual(nn.Layer):
    def __init__(self, spec: BlockSpec) -> None:
        super().__init__()
        self.spec = spec
        self.expand = ConvBNAct(spec.in_channels, spec.hidden, 1, act=spec.act) if spec.has_expand else None
        self.depthwise = ConvBNAct(spec.hidden, spec.hidden, spec.kernel, stride=spec.stride,
                                   groups=spec.hidden, act=spec.act)
        self.se = SqueezeExcite(spec.hidden, spec.se_channels) if spec.se_channels else None
        self.project = ConvBNAct(spec.hidden, spec.out_channels, 1)
        if spec.use_residual:  # start residual blocks as identities: faster, steadier early training
            self.project.bn.weight.set_value(paddle.zeros_like(self.project.bn.weight))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        y = self.expand(x) if self.expand is not None else x
        y = self.depthwise(y)
        if self.se is not None:
            y = self.se(y)
        y = self.project(y)
        return x + y if self.spec.use_residual else y


class MobileNetV3Small(nn.Layer):
    def __init__(self, arch: Arch | None = None, num_classes: int = 10, dropout: float = 0.2) -> None:
        super().__init__()
        self.arch = arch or Arch.default(num_classes)
        a = self.arch
        self.stem = ConvBNAct(3, a.stem, 3, stride=2, act="hardswish")
        self.blocks = nn.LayerList([InvertedResidual(spec) for spec in a.blocks])
        self.last_conv = ConvBNAct(a.blocks[-1].out_channels, a.last, 1, act="hardswish")
        self.pool = nn.AdaptiveAvgPool2D(1)
        self.fc1 = nn.Linear(a.last, a.hidden)
        self.act = nn.Hardswish()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(a.hidden, a.num_classes)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        x = self.pool(self.last_conv(x))
        x = paddle.flatten(x, 1)
        x = self.dropout(self.act(self.fc1(x)))
        return self.classifier(x)


def arch_from_state_dict(state: dict[str, Any]) -> Arch:
    """Rebuild the widths of a (possibly pruned) network from its weight shapes."""
    base = Arch.default()

    def shape(key: str) -> list[int]:
        if key not in state:
            raise KeyError(f"checkpoint has no {key!r}: not a MobileNetV3-small checkpoint")
        return list(state[key].shape)

    blocks = []
    for i, spec in enumerate(base.blocks):
        prefix = f"blocks.{i}"
        hidden = shape(f"{prefix}.depthwise.conv.weight")[0]
        se = shape(f"{prefix}.se.fc1.weight")[0] if spec.se_channels else 0
        blocks.append(replace(spec, hidden=hidden, se_channels=se))
    fc1 = shape("fc1.weight")  # Paddle Linear weights are [in, out]
    return replace(
        base,
        blocks=tuple(blocks),
        stem=shape("stem.conv.weight")[0],
        last=shape("last_conv.conv.weight")[0],
        hidden=fc1[1],
        num_classes=shape("classifier.weight")[1],
    )


def count_params(model: nn.Layer) -> int:
    return sum(int(p.size) for p in model.parameters())

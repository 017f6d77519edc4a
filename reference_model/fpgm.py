"""FPGM filter pruning (He et al., CVPR 2019) in plain Paddle, with physical channel removal.

For each prunable layer, the filters closest to the layer's geometric median are the most
replaceable; FPGM ranks filter ``i`` by ``sum_j ||w_i - w_j||_2`` and removes the ``ratio``
fraction with the smallest sums. The pruned network is *rebuilt narrower* and every tensor that
touches a removed channel is sliced, so the exported model really has fewer parameters and
FLOPs (masking would not change either).

Pruned groups (residual-connected widths are left alone, as usual for MobileNets):

* each block's expanded width: expansion conv filters + its BN, the depthwise conv and its BN,
  the squeeze-excitation input (``se.fc1`` columns) and output (``se.fc2`` filters and bias), and
  the projection conv's input channels;
* each squeeze-excitation's inner width: ``se.fc1`` filters and bias, ``se.fc2`` input channels;
* the last 1x1 conv: its filters + BN and the hidden layer's input rows;
* the 1024-wide hidden layer: ``fc1`` columns and bias, and the classifier's input rows.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import paddle
from mobilenetv3 import Arch, MobileNetV3Small

BN_KEYS = ("weight", "bias", "_mean", "_variance")


def geometric_median_scores(filters: np.ndarray) -> np.ndarray:
    """``scores[i] = sum_j ||f_i - f_j||``: small means close to the geometric median."""
    flat = filters.reshape(filters.shape[0], -1).astype("float64")
    sq = (flat * flat).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * flat @ flat.T, 0.0)
    return np.sqrt(d2).sum(1)


def keep_count(width: int, ratio: float, multiple: int = 8) -> int:
    """Channels to keep: ``width * (1 - ratio)`` rounded to a multiple of 8 (at least 8)."""
    keep = round(width * (1.0 - ratio) / multiple) * multiple
    return int(min(width, max(multiple, keep)))


def select(filters: np.ndarray, ratio: float) -> np.ndarray:
    """Indices (ascending) of the filters FPGM keeps."""
    n = keep_count(filters.shape[0], ratio)
    scores = geometric_median_scores(filters)
    keep = np.argsort(-scores, kind="stable")[:n]
    return np.sort(keep)


def prune(model: MobileNetV3Small, ratio: float) -> tuple[MobileNetV3Small, dict[str, tuple[int, int]]]:
    """Return a narrower copy of ``model`` (same weights, pruned channels removed) and a
    ``{group: (before, after)}`` summary."""
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"prune ratio must be in (0, 1), got {ratio}")
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    arch: Arch = model.arch
    # key -> list of (axis, kept indices)
    cuts: dict[str, list[tuple[int, np.ndarray]]] = {}
    summary: dict[str, tuple[int, int]] = {}

    def cut(key: str, axis: int, idx: np.ndarray) -> None:
        cuts.setdefault(key, []).append((axis, idx))

    def cut_bn(prefix: str, idx: np.ndarray) -> None:
        for k in BN_KEYS:
            cut(f"{prefix}.{k}", 0, idx)

    blocks = list(arch.blocks)
    for i, spec in enumerate(arch.blocks):
        p = f"blocks.{i}"
        if spec.has_expand:
            idx = select(state[f"{p}.expand.conv.weight"], ratio)
            summary[f"{p}.hidden"] = (spec.hidden, len(idx))
            cut(f"{p}.expand.conv.weight", 0, idx)
            cut_bn(f"{p}.expand.bn", idx)
            cut(f"{p}.depthwise.conv.weight", 0, idx)
            cut_bn(f"{p}.depthwise.bn", idx)
            if spec.se_channels:
                cut(f"{p}.se.fc1.weight", 1, idx)
                cut(f"{p}.se.fc2.weight", 0, idx)
                cut(f"{p}.se.fc2.bias", 0, idx)
            cut(f"{p}.project.conv.weight", 1, idx)
            blocks[i] = replace(blocks[i], hidden=len(idx))
        if spec.se_channels:
            sidx = select(state[f"{p}.se.fc1.weight"], ratio)
            summary[f"{p}.se"] = (spec.se_channels, len(sidx))
            cut(f"{p}.se.fc1.weight", 0, sidx)
            cut(f"{p}.se.fc1.bias", 0, sidx)
            cut(f"{p}.se.fc2.weight", 1, sidx)
            blocks[i] = replace(blocks[i], se_channels=len(sidx))

    lidx = select(state["last_conv.conv.weight"], ratio)
    summary["last_conv"] = (arch.last, len(lidx))
    cut("last_conv.conv.weight", 0, lidx)
    cut_bn("last_conv.bn", lidx)
    cut("fc1.weight", 0, lidx)

    hidx = select(state["fc1.weight"].T, ratio)  # Linear weight is [in, out]: filters are columns
    summary["fc1"] = (arch.hidden, len(hidx))
    cut("fc1.weight", 1, hidx)
    cut("fc1.bias", 0, hidx)
    cut("classifier.weight", 0, hidx)

    new_arch = replace(arch, blocks=tuple(blocks), last=len(lidx), hidden=len(hidx))
    pruned = MobileNetV3Small(new_arch, dropout=model.dropout.p)
    new_state = {}
    for key, value in state.items():
        for axis, idx in cuts.get(key, []):
            value = np.take(value, idx, axis=axis)
        new_state[key] = paddle.to_tensor(np.ascontiguousarray(value))
    expected = {k: list(v.shape) for k, v in pruned.state_dict().items()}
    got = {k: list(v.shape) for k, v in new_state.items()}
    if expected != got:
        bad = sorted(k for k in expected if expected[k] != got.get(k))
        raise RuntimeError(f"FPGM slicing produced wrong shapes for {bad[:5]}")
    pruned.set_state_dict(new_state)
    return pruned, summary

"""Read the AutoLog benchmark block back out of an inference log.

The block is what ``auto_log.AutoLogger.report()`` (or :mod:`tipc_autolog.logger`) prints, one
logger record per line, behind whatever prefix the script's logger adds::

    [2022/04/13 11:43:09] root INFO:  runtime_device: cpu        (auto_log's own logger)
    [2022/08/16 03:08:41] ppocr INFO:  runtime_device: cpu       (PaddleOCR)
    2022-04-13 11:43:09 [INFO]	 runtime_device: cpu            (PaddleSeg, a tab)
    [det] runtime_device: cpu                                     (report(identifier="det"))

A block starts at an ``Env info`` (or, failing that, ``Conf info``) banner and its values are
taken only from its own lines, so an argparse dump elsewhere in the log that also says
``precision: fp32`` is never read. ``"None"`` values become ``None``.

``parse_autolog(text)`` returns the first block's metrics (or None); ``parse_autolog_blocks`` all
of them (PaddleOCR's system pipeline reports det and rec separately).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Callable, TypedDict

from pytest_tipc._fs import line_chunks


class AutoLogMetrics(TypedDict):
    model_name: str | None
    paddle_version: str | None
    runtime_device: str | None
    ir_optim: bool | None
    enable_tensorrt: bool | None
    enable_mkldnn: bool | None
    cpu_math_library_num_threads: int | None
    precision: str | None
    batch_size: int | None
    input_shape: str | None
    data_num: int | None
    cpu_rss_mb: float | None
    gpu_rss_mb: float | None
    gpu_util: float | None
    total_time_s: float | None
    preprocess_ms: float | None
    inference_ms: float | None
    postprocess_ms: float | None


_BANNER = re.compile(r"-{10,} (Env|Paddle|Conf|Model|Data|Perf) info -{10,}")
_NUM = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+|nan|inf)|None"


def _text(raw: str) -> str | None:
    raw = raw.strip()
    return None if raw in ("None", "") else raw


def _bool(raw: str) -> bool | None:
    value = raw.strip().lower()
    return True if value == "true" else False if value == "false" else None


def _int(raw: str) -> int | None:
    try:
        return int(raw.strip())
    except ValueError:
        try:
            number = float(raw.strip())
        except ValueError:
            return None
        return int(number) if number.is_integer() else None


def _float(raw: str) -> float | None:
    try:
        return float(raw.strip().rstrip("%"))
    except ValueError:
        return None


def _field(key: str) -> re.Pattern[str]:
    # The key must start the message: after the line start, whitespace or an identifier's "]".
    return re.compile(rf"(?:^|[\s\]]){re.escape(key)}:[ \t]*(.*?)\s*$")


_FIELDS: dict[str, tuple[re.Pattern[str], Callable[[str], object]]] = {
    "model_name": (_field("model_name"), _text),
    "paddle_version": (_field("paddle_version"), _text),
    "runtime_device": (_field("runtime_device"), _text),
    "ir_optim": (_field("ir_optim"), _bool),
    "enable_tensorrt": (_field("enable_tensorrt"), _bool),
    "enable_mkldnn": (_field("enable_mkldnn"), _bool),
    "cpu_math_library_num_threads": (_field("cpu_math_library_num_threads"), _int),
    "precision": (_field("precision"), _text),
    "batch_size": (_field("batch_size"), _int),
    "input_shape": (_field("input_shape"), _text),
    "data_num": (_field("data_num"), _int),
}
_PERF: dict[str, tuple[re.Pattern[str], Callable[[str], object]]] = {
    "cpu_rss_mb": (re.compile(rf"cpu_rss\(MB\):\s*({_NUM})"), _float),
    "gpu_rss_mb": (re.compile(rf"gpu_rss\(MB\):\s*({_NUM})"), _float),
    "gpu_util": (re.compile(rf"gpu_util:\s*({_NUM})%?"), _float),
    "total_time_s": (re.compile(rf"total time spent\(s\):\s*({_NUM})"), _float),
    "preprocess_ms": (re.compile(rf"preprocess_time\(ms\):\s*({_NUM})"), _float),
    "inference_ms": (re.compile(rf"inference_time\(ms\):\s*({_NUM})"), _float),
    "postprocess_ms": (re.compile(rf"postprocess_time\(ms\):\s*({_NUM})"), _float),
}


def empty_metrics() -> AutoLogMetrics:
    return AutoLogMetrics(
        model_name=None, paddle_version=None, runtime_device=None, ir_optim=None, enable_tensorrt=None,
        enable_mkldnn=None, cpu_math_library_num_threads=None, precision=None, batch_size=None,
        input_shape=None, data_num=None, cpu_rss_mb=None, gpu_rss_mb=None, gpu_util=None,
        total_time_s=None, preprocess_ms=None, inference_ms=None, postprocess_ms=None,
    )


class _Blocks:
    """The blocks that start at one kind of banner (``Env`` or ``Conf``), fed line by line: a
    block's values come from its own lines, up to its ``postprocess_time(ms)`` line."""

    def __init__(self, section: str) -> None:
        self.section = section
        self.blocks: list[dict[str, object]] = []
        self.open = False  # the current block still takes values

    def feed(self, line: str, section: str | None) -> None:
        if section == self.section:
            self.blocks.append({})
            self.open = True
        if not self.open:
            return
        found = self.blocks[-1]
        for table in (_FIELDS, _PERF):
            for name, (pattern, convert) in table.items():
                if name not in found:
                    match = pattern.search(line)
                    if match:
                        found[name] = convert(match.group(1))
        self.open = "postprocess_time(ms):" not in line


def _parse_lines(chunks: Iterable[str]) -> list[AutoLogMetrics]:
    """Every block of a log given as text chunks that end at line ends, in one pass whose memory
    is one chunk: from an Env banner (Conf banners if the log has no Env banner) up to the next
    block's start or the end of the log. A chunk with no banner is skipped unless a block is open."""
    kinds = (_Blocks("Env"), _Blocks("Conf"))
    for chunk in chunks:
        if " info -" not in chunk and not any(kind.open for kind in kinds):
            continue
        for line in chunk.splitlines():
            match = _BANNER.search(line) if " info -" in line else None
            section = match.group(1) if match else None
            for kind in kinds:
                kind.feed(line, section)
    chosen = kinds[0].blocks or kinds[1].blocks
    result = []
    for found in chosen:
        metrics = empty_metrics()
        metrics.update(found)  # type: ignore[typeddict-item]
        result.append(metrics)
    return result


def parse_autolog_blocks(text: str) -> list[AutoLogMetrics]:
    """Every AutoLog block in ``text``, in log order."""
    return _parse_lines([text])


def parse_autolog(text: str) -> AutoLogMetrics | None:
    """The first AutoLog block in ``text``, or None when the log has none."""
    blocks = parse_autolog_blocks(text)
    return blocks[0] if blocks else None


def parse_autolog_file(path: str | Path) -> AutoLogMetrics | None:
    """:func:`parse_autolog` on a file (None when it is missing or holds no block), read a bounded
    chunk at a time (``\\r`` ends a line too): memory stays bounded whatever the log's size."""
    try:
        blocks = _parse_lines(line_chunks(path))
    except OSError:
        return None
    return blocks[0] if blocks else None


# JUnit/record metric names for an inference cell, in display order.
INFER_METRICS = ("preprocess_ms", "inference_ms", "postprocess_ms", "total_time_s", "cpu_rss_mb",
                 "gpu_rss_mb", "gpu_util", "data_num")


def perf_metrics(metrics: AutoLogMetrics) -> dict[str, float | int | None]:
    """The performance subset the plugin records per inference cell."""
    return {name: metrics[name] for name in INFER_METRICS}  # type: ignore[literal-required]

"""The TIPC config model: positional ``key:value`` lines, kept with their line numbers.

The bash harness reads a config with ``lines=( $(cat file) )`` and ``IFS=$'\\n'``: blank
lines vanish, so "position N" is the N-th *non-blank* line. Every :class:`Line` keeps both
its position and its physical line number in the file, so errors can point at ``file:line``.
A control character (NUL, a lone carriage return, escape, …; a tab is text) is a
:class:`ConfigError` at that line: values become command-line words and file names.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

S32 = "s32"
T51 = "t51"
PTQ20 = "ptq20"
ONNX = "onnx"
EMPTY = "empty"

MODES = (
    "lite_train_lite_infer",
    "lite_train_whole_infer",
    "whole_train_whole_infer",
    "whole_infer",
    "klquant_whole_infer",
    "paddle2onnx_infer",  # test_paddle2onnx.sh
    "benchmark_train",  # benchmark_train.sh
)
# benchmark_train trains too: the train harness in the mode benchmark_train.sh calls it with
TRAIN_MODES = (*MODES[:3], "benchmark_train")
# The file names of TIPC configs: what a directory is searched for, by mode (default: CONFIG_GLOB);
# the paddle2onnx configs run only in paddle2onnx_infer, whole_infer also finds the PTQ configs.
CONFIG_GLOB = "*train*infer*python*.txt"
MODE_GLOBS = {"paddle2onnx_infer": ("*paddle2onnx*.txt",),
              "whole_infer": (CONFIG_GLOB, "*ptq*infer*python*.txt")}


class ConfigError(Exception):
    """A config that cannot be expanded. The message names file:line, expectation, finding and fix."""

    def __init__(self, path: Path | str, lineno: int, expected: str, found: str, fix: str) -> None:
        self.path = Path(path)
        self.lineno = lineno
        self.expected = expected
        self.found = found
        self.fix = fix
        where = f"{self.path}:{lineno}" if lineno else str(self.path)
        super().__init__(f"{where}: expected {expected}, found {found}. Fix: {fix}")


@dataclass(frozen=True)
class Line:
    """One non-blank config line. ``position`` is 1-based among non-blank lines."""

    position: int
    lineno: int
    text: str

    @property
    def key(self) -> str:
        """Text before the first colon (``func_parser_key``)."""
        return self.text.split(":", 1)[0]

    @property
    def value(self) -> str:
        """Text between the 1st and 2nd colon: bash ``IFS=":"; arr=($line); ${arr[1]}``."""
        parts = self.text.split(":")
        return parts[1] if len(parts) > 1 else ""

    @property
    def full_value(self) -> str:
        """Everything after the first colon (PaddleDetection's ``${s#*:}``)."""
        return self.text.split(":", 1)[1] if ":" in self.text else self.text


class Positional:
    """Rows read by position, as the harness's bash array holds them: ``lines`` are the non-blank
    lines, ``line(n)`` the n-th (1-based), an empty line past the end (bash gives ``""``)."""

    lines: Sequence[Line]

    def __len__(self) -> int:
        return len(self.lines)

    def line(self, position: int) -> Line:
        if 1 <= position <= len(self.lines):
            return self.lines[position - 1]
        return Line(position, 0, "")

    def key(self, position: int) -> str:
        return self.line(position).key

    def value(self, position: int) -> str:
        return self.line(position).value


@dataclass(frozen=True)
class TipcConfig(Positional):
    path: Path
    lines: tuple[Line, ...]
    raw_text: str = field(repr=False)
    layout: str = T51

    @property
    def raw_lines(self) -> list[str]:
        """Physical lines, blank ones included (``grep -n`` numbering)."""
        return self.raw_text.split("\n")


    @property
    def model_name(self) -> str:
        return self.value(2)

    @property
    def python(self) -> str:
        return self.value(3)


def harness_root(config_path: Path | str, default: Path) -> Path:
    """The directory the upstream harness runs from: the part of the config's absolute path before
    its last ``test_tipc`` folder (``contrib/MedicalSeg`` for MedicalSeg); ``default`` for configs
    outside a ``test_tipc`` folder (the docs template)."""
    parts = Path(os.path.abspath(config_path)).parts
    if "test_tipc" in parts:
        index = len(parts) - 1 - parts[::-1].index("test_tipc")
        return Path(*parts[:index])
    return default


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # C0 controls but tab and line feed, and DEL


def _control_error(path: Path, lineno: int, raw: str, found: re.Match[str]) -> ConfigError:
    return ConfigError(
        path, lineno, "text without control characters (config values become command-line words and file names)",
        f"{found.group()!r} at column {found.start() + 1} of {raw[:120]!r}",
        "delete the character (an editor that shows invisible characters reveals it; `cat -A` marks it) "
        "and save the file as plain text")


def parse_text(text: str, path: Path | str = "<string>") -> TipcConfig:
    path = Path(path)
    text = text.replace("\r\n", "\n")
    lines: list[Line] = []
    for lineno, raw in enumerate(text.split("\n"), start=1):
        if raw == "":
            continue
        found = _CONTROL.search(raw)
        if found:
            raise _control_error(path, lineno, raw, found)
        lines.append(Line(len(lines) + 1, lineno, raw))
    return TipcConfig(path=path, lines=tuple(lines), raw_text=text, layout=detect_layout(lines))


def parse_file(path: Path | str) -> TipcConfig:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(path, 0, "a readable TIPC config file", f"an OS error ({exc})", "check the path") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        lineno = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            path, lineno, "UTF-8 text", f"byte 0x{data[exc.start]:02x} that is not UTF-8", "save the file as UTF-8"
        ) from exc
    return parse_text(text, path)


def detect_layout(lines: list[Line] | tuple[Line, ...]) -> str:
    """Layout by shape, never by banner text (4 OCR PTQ files carry a ``train_params`` banner).

    * no lines → ``empty``;
    * ``trainer:`` at position 13 and fewer than 40 lines → ``s32`` (models Step6);
    * ``trainer:`` at position 15 (or at least 40 lines) → ``t51``;
    * a ``2onnx:`` row at position 4 (OCR, Clas, Seg, Step6) or a ``cmd:paddle2onnx`` row at
      position 18 (PaddleDetection) → ``onnx`` (``test_paddle2onnx.sh``);
    * otherwise (about 20 lines, no trainer row) → ``ptq20``.
    """
    if not lines:
        return EMPTY
    keys = {line.position: line.key.strip() for line in lines}
    if keys.get(4) == "2onnx" or (keys.get(18) == "cmd" and "paddle2onnx" in lines[17].text):
        return ONNX
    if keys.get(13) == "trainer" and len(lines) < 40:
        return S32
    if keys.get(15) == "trainer" or len(lines) >= 40:
        return T51
    return PTQ20


def set_param(key: str, value: str) -> str:
    """``func_set_params``: ``key=value``, or ``" "`` when the key or value is null/blank."""
    if key == "null" or value in ("null", "", " "):
        return " "
    return f"{key}={value}"

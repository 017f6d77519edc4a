"""PaddleDetection config rows, read the way ``test_tipc/utils_func.sh`` reads them.

Det's ``func_parser_value`` keeps everything after the first colon (full URLs survive), its
``func_parser_params`` picks the ``mode=value`` item, and ``status_check`` ends with two spaces.
"""

from __future__ import annotations

from dataclasses import dataclass

from pytest_tipc.model.config import ConfigError, Line, TipcConfig
from pytest_tipc.planning.dialects.bash import ifs_split


def status(model_name: str, command: str, log_path: str) -> str:
    """Det ``status_check`` text; ``{verdict}`` becomes ``successfully`` or ``failed``."""
    return f"Run {{verdict}} with command - {model_name} - {command} - {log_path}  "


def expect_key(config: TipcConfig, position: int, key: str, fix: str) -> None:
    """A row the harness reads by position must carry its key, or every later row is shifted."""
    line = config.line(position)
    if line.key.strip() != key:
        found = f"`{line.text}`" if line.lineno else "the end of the file"
        raise ConfigError(config.path, line.lineno, f"`{key}:…` at row {position}", found, fix)


@dataclass(frozen=True)
class InferRows:
    """Rows 40-51 of the 51-row layout: the inference script and its loops."""

    script: str
    device_key: str
    devices: list[str]
    device_lineno: int
    mkldnn_key: str
    mkldnn_list: list[str]
    threads_key: str
    threads_list: list[str]
    batch_key: str
    batch_list: list[str]
    run_mode_key: str
    run_mode_list: list[str]
    model_dir_key: str
    image_dir_key: str
    image_dir: str
    benchmark_key: str
    benchmark_value: str
    param1_key: str
    param1_value: str


def infer_rows(config: TipcConfig) -> InferRows:
    def row(position: int) -> Line:
        return config.line(position)

    return InferRows(
        script=row(40).full_value,
        device_key=row(41).key,
        devices=ifs_split(row(41).full_value),
        device_lineno=row(41).lineno,
        mkldnn_key=row(42).key,
        mkldnn_list=ifs_split(row(42).full_value),
        threads_key=row(43).key,
        threads_list=ifs_split(row(43).full_value),
        batch_key=row(44).key,
        batch_list=ifs_split(row(44).full_value),
        # row 45 (--use_tensorrt) is parsed upstream but never used
        run_mode_key=row(46).key,
        run_mode_list=ifs_split(row(46).full_value),
        model_dir_key=row(47).key,
        image_dir_key=row(48).key,
        image_dir=row(48).full_value,
        # row 49 (--save_log_path) is parsed upstream but never used
        benchmark_key=row(50).key,
        benchmark_value=row(50).full_value,
        param1_key=row(51).key,
        param1_value=row(51).full_value,
    )


@dataclass(frozen=True)
class ExportRows:
    """Rows 28-39: export keys, the export command per trainer or infer_mode, and the whole_infer lists."""

    save_key: str
    save_value: str
    weight_key: str
    weight_value: str
    norm: str
    pact: str
    fpgm: str
    distill: str
    onnx_key: str
    value2: str
    kl_quant: str
    infer_modes: list[str]
    infer_modes_lineno: int
    infer_quant: list[str]

    def for_infer_mode(self, infer_mode: str) -> tuple[str, int] | None:
        """The export command an ``infer_mode`` runs in whole_infer, with its row; None if unknown."""
        table = {"norm": (self.norm, 30), "pact": (self.pact, 31), "fpgm": (self.fpgm, 32),
                 "distill": (self.distill, 33), "kl_quant": (self.kl_quant, 36)}
        return table.get(infer_mode)


def export_rows(config: TipcConfig) -> ExportRows:
    def value(position: int) -> str:
        return config.line(position).full_value

    return ExportRows(
        save_key=config.key(28),
        save_value=value(28),
        weight_key=config.key(29),
        weight_value=value(29),
        norm=value(30),
        pact=value(31),
        fpgm=value(32),
        distill=value(33),
        onnx_key=config.key(35),
        value2=value(35),
        kl_quant=value(36),
        infer_modes=ifs_split(value(38)),
        infer_modes_lineno=config.line(38).lineno,
        infer_quant=ifs_split(value(39)),
    )

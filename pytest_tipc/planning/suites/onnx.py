"""What every family's ``test_paddle2onnx.sh`` shares: the conversion step and the ``onnx`` cells.

A paddle2onnx plan is one ``model`` cell per model (Det: per ``infer_mode``; its export step, if
any, then one ``convert`` step per converted model: OCR's system models convert det and rec),
followed by its ``onnx`` cells, one per device the config lists (``use_gpu``; one ``cpu`` cell
where the config lists none). Ids: ``model[m0-<name>]``, ``onnx[m0-<name>-cpu]``.

``Step.meta`` of a ``convert`` step (every value as the config spells it, "" when absent):

* ``model_dir`` - the Paddle inference model's directory (``--model_dir``);
* ``model_filename`` / ``params_filename`` - its program and weights file names;
* ``save_file`` - the ``.onnx`` file the conversion writes;
* ``opset`` - ``--opset_version``; ``checker`` - ``--enable_onnx_checker``;
* ``role`` - ``det``/``rec`` for OCR's system models, else ``model``.

``Step.meta`` of an ``onnx`` cell's ``infer`` step: ``onnx_file`` (the ``.onnx`` it reads, a
path relative to the step's cwd as the script receives it), ``save_files`` (the conversion
``save_file`` values it reads, relative to the harness root, ``|``-separated), ``model_dirs``
(the Paddle models they came from, same order: what a Paddle Inference comparison runs),
``device`` and ``image`` (the image argument, "" when none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from pytest_tipc.model.cells import Cell, Expect, Plan, Step, token
from pytest_tipc.model.config import ConfigError, TipcConfig, set_param
from pytest_tipc.planning.dialects.bash import eval_words
from pytest_tipc.planning.dialects.template.core import Rows

ENV_UNSET: tuple[tuple[str, str | None], ...] = (("CUDA_VISIBLE_DEVICES", None),)


@dataclass(frozen=True)
class Conversion:
    """One paddle2onnx call: ``<cmd> <dir> <model file> <params file> <save> <opset> <checker> …``
    with each piece ``key=value`` (``func_set_params``; a null value leaves it out)."""

    cmd: str
    dir_key: str
    model_dir: str
    filename_key: str
    model_filename: str
    params_key: str
    params_filename: str
    save_key: str
    save_file: str
    opset_key: str
    opset: str
    checker_key: str
    checker: str
    extra: tuple[str, ...] = ()  # pieces after the checker (--enable_dev_version=…, params1)
    role: str = "model"

    @property
    def command(self) -> str:
        pieces = (set_param(self.dir_key, self.model_dir), set_param(self.filename_key, self.model_filename),
                  set_param(self.params_key, self.params_filename), set_param(self.save_key, self.save_file),
                  set_param(self.opset_key, self.opset), set_param(self.checker_key, self.checker))
        return " ".join((self.cmd, *pieces, *self.extra))

    def step(self, *, log: str, status: str) -> Step:
        """The ``convert`` step; run under ``IFS='|'`` as the scripts' ``eval`` does."""
        meta = (("model_dir", self.model_dir), ("model_filename", self.model_filename),
                ("params_filename", self.params_filename), ("save_file", self.save_file),
                ("opset", self.opset), ("checker", self.checker), ("role", self.role))
        expects = (Expect("file", self.save_file),) if self.save_file.strip() else ()
        return Step("convert", tuple(eval_words(self.command)), ".", ENV_UNSET, log, status, expects=expects,
                    meta=meta)


def infer_step(command: str, *, conversions: tuple[Conversion, ...], onnx_file: str, device: str, image: str,
               log: str, status: str, cwd: str = ".") -> Step:
    meta = (("onnx_file", onnx_file), ("save_files", "|".join(c.save_file for c in conversions)),
            ("model_dirs", "|".join(c.model_dir for c in conversions)), ("device", device), ("image", image))
    return Step("infer", tuple(eval_words(command)), cwd, ENV_UNSET, log, status, meta=meta)


def model_cell(*, model: str, index: int, name: str, steps: tuple[Step, ...], lineno: int) -> Cell:
    fields = (("model", model), ("mode", "paddle2onnx_infer"), ("kind", "model"), ("infer_model", name),
              ("quant", "False"))
    return Cell("model", f"m{index}-{token(name.rstrip('/').rsplit('/', 1)[-1] or 'model')}", steps, fields,
                None, lineno)


def onnx_cell(parent: Cell, *, device: str, steps: tuple[Step, ...], lineno: int, precision: str = "fp32",
              batch_size: str = "", skip: str = "") -> Cell:
    """An onnxruntime inference on ``parent``'s conversion: ``<parent>-<device>`` (the scripts
    list devices only; precision is fp32 and the batch is what the predictor uses)."""
    fields = (*((k, v) for k, v in parent.fields if k not in ("kind", "quant")), ("kind", "onnx"),
              ("device", device), ("precision", precision), ("batch_size", batch_size), ("quant", "False"))
    key = f"{parent.key}-{token(device)}"
    return Cell("onnx", key, steps, fields, parent.key, lineno, skip)


def device_of(use_gpu: str) -> str:
    """``True``/``gpu`` → gpu, ``False``/``cpu`` → cpu, else "" (the scripts run nothing)."""
    return {"True": "gpu", "gpu": "gpu", "False": "cpu", "cpu": "cpu"}.get(use_gpu, "")


def onnx_rows(config: TipcConfig, window: int, layout: str) -> Rows:
    """The first ``window`` rows of a paddle2onnx config (``awk 'NR==1, NR==<window>'``), refused
    unless row 4 is the ``2onnx:`` command; ``layout`` names the layout to keep in the error."""
    rows = Rows(config, window=window)
    if rows.key(4).strip() != "2onnx":
        raise ConfigError(config.path, rows.lineno(4), "the `2onnx:` row at position 4 of a paddle2onnx config",
                          repr(rows.line(4).text), f"keep the {layout}")
    return rows


def row_conversion(rows: Rows, extra: tuple[str, ...] = ()) -> Conversion:
    """The conversion rows 4-10 spell, in order (command, model dir, model file, params file, save
    file, opset, checker; each ``key:value``), then ``extra``."""
    return Conversion(rows.value(4), rows.key(5), rows.value(5), rows.key(6), rows.value(6), rows.key(7),
                      rows.value(7), rows.key(8), rows.value(8), rows.key(9), rows.value(9), rows.key(10),
                      rows.value(10), extra)


def single_model_plan(config: TipcConfig, mode: str, *, dialect: str, log_dir: str, infer_log: str,
                      status: Callable[[str, str, str], str]) -> Plan:
    """The 13-row layout PaddleSeg and Step6 share (``awk 'NR==1, NR==13'``): 2 model_name ·
    3 python · 4 ``2onnx`` command · 5 model dir · 6 model filename · 7 params filename ·
    8 save file · 9 opset · 10 onnx checker · 11 inference script · 12 the onnx-file key (its
    value is ignored: inference reads the save file) · 13 image. One conversion, then one
    inference without a device flag (onnxruntime on CPU). ``status(model, command, log)``."""
    rows = onnx_rows(config, 13, "paddle2onnx_params layout (13 rows)")
    model, python = rows.value(2), rows.value(3)
    status_log = f"{log_dir}/results_paddle2onnx.log"
    conversion = row_conversion(rows)
    convert = conversion.step(log=f"{log_dir}/trans_model_model.log",
                              status=status(model, conversion.command, status_log))
    parent = model_cell(model=model, index=0, name=rows.value(5), steps=(convert,), lineno=rows.lineno(4))
    command = (f"{python} {rows.value(11)} {set_param(rows.key(13), rows.value(13))} "
               f"{set_param(rows.key(12), rows.value(8))}")
    step = infer_step(command, conversions=(conversion,), onnx_file=rows.value(8), device="cpu",
                      image=rows.value(13), log=infer_log,
                      status=status(model, f"{command} > {infer_log} 2>&1 ", status_log))
    cells = (parent, onnx_cell(parent, device="cpu", steps=(step,), lineno=rows.lineno(11)))
    return Plan(dialect, mode, model, log_dir, cells)

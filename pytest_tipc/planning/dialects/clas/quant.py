"""PaddleClas ``whole_infer``: the harness's ``kl_quant`` branch (line 34), then inference."""

from __future__ import annotations

from pytest_tipc.model.cells import Cell, Expect, Step, model_cell
from pytest_tipc.model.config import ConfigError, TipcConfig
from pytest_tipc.planning.dialects.bash import words
from pytest_tipc.planning.dialects.clas.infer import InferRun, inference_cells, status_line

QUANT_DIR = "quant_post_static_model"
QUANT_ANCHORS = {34: "kl_quant", 37: "infer_model"}
Parts = tuple[str, ...]


def normalise(path: str) -> Parts | None:
    """``path`` relative to the harness root as components, or None when it leaves the root."""
    return _walk((), path, None)


def change_dir(cwd: Parts, target: str, existing: set[Parts]) -> Parts | None:
    """bash ``cd target`` from ``cwd``: every component on the way must exist (None = cd fails)."""
    return _walk(cwd, target, existing)


def _walk(start: Parts, path: str, existing: set[Parts] | None) -> Parts | None:
    """``path`` from ``start``, component by component; None when it climbs above the root, is
    absolute (outside the root: assumed absent, as in the recording sandbox) or, with ``existing``,
    passes through a folder not in it."""
    if path.startswith("/"):
        return None
    parts = list(start)
    for component in path.split("/"):
        if component in ("", "."):
            continue
        if component == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(component)
            if existing is not None and tuple(parts) not in existing:
                return None
    return tuple(parts)


def inference_cwd(infer_model: str) -> str:
    """Where func_inference runs: the harness does ``cd <infer_model>/quant_post_static_model`` then
    ``cd ../../deploy``; a failed cd leaves it where it was (``../inference/`` fails both, so those
    configs infer from the root)."""
    existing: set[Parts] = {(), ("deploy",)}
    created = normalise(f"{infer_model}/{QUANT_DIR}")
    if created is not None:
        existing.update(created[:n] for n in range(1, len(created) + 1))
    cwd: Parts = change_dir((), f"{infer_model}/{QUANT_DIR}", existing) or ()
    cwd = change_dir(cwd, "../../deploy", existing) or cwd
    return "/".join(cwd) or "."


def plan_kl_quant(config: TipcConfig, mode: str, log_path: str) -> list[Cell]:
    kl_line, model_line = config.line(34), config.line(37)
    model_name, python, infer_model = config.model_name, config.python, model_line.value
    for position, key in QUANT_ANCHORS.items():
        line = config.line(position)
        if line.key.strip() != key:
            raise ConfigError(config.path, line.lineno, f"`{key}:` at non-blank line {position}",
                              f"`{line.text}`", "a line is missing or extra above it; restore the T51 line order")
    if kl_line.value in ("null", "False", ""):
        if mode == "klquant_whole_infer":
            raise ConfigError(config.path, kl_line.lineno, "a kl_quant command on line 34",
                              f"`{kl_line.text}`", "add `kl_quant:deploy/slim/quant_post_static.py -c <yml>` "
                              "or run a train mode")
        # upstream quirk kept: without kl_quant the Clas harness runs nothing in whole_infer
        return [model_cell(model=model_name, mode=mode, index=0, infer_model=infer_model, steps=(),
                           lineno=kl_line.lineno,
                           skip=f"no kl_quant command (line {kl_line.lineno}): the PaddleClas harness "
                                "runs nothing in whole_infer")]
    quant_log = f"{log_path}/export.log"
    command = f"{python} {kl_line.value}"  # evaluated while IFS=$'\n': a '|' would not split here
    created = normalise(f"{infer_model}/{QUANT_DIR}")
    expects = (Expect("inference_model", "/".join(created)),) if created else ()
    quant = Step("quant", tuple(words(command)), log=quant_log,
                 status=status_line(model_name, f"{command} > {quant_log} 2>&1", quant_log), expects=expects)
    cell = model_cell(model=model_name, mode=mode, index=0, infer_model=infer_model, steps=[quant],
                      lineno=model_line.lineno, quant=True)
    # whole_infer never exports CUDA_VISIBLE_DEVICES (no 3rd argument) and passes gpu=0
    run = InferRun(python=python, script=config.value(40), model_dir=f"../{infer_model}/{QUANT_DIR}",
                   log_dir=log_path, img_dir=config.value(48), gpu="0", cwd=inference_cwd(infer_model),
                   cuda_visible_devices=None, quant=True)
    return [cell, *inference_cells(config, cell, run)]

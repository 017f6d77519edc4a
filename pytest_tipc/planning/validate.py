"""Structural checks: catch a shifted positional config before it turns into nonsense commands.

The harness reads rows by position, so one missing row shifts every later key: upstream then runs
``python False`` or an inference *script* named ``gpu`` (Paddle#37572). We check the rows that
anchor each section and stop with the file, the line and the fix.
"""

from __future__ import annotations

from pytest_tipc.model.config import S32, T51, ConfigError, TipcConfig

# (position, what must be there, how to recognise it)
_HEAD = ((2, "model_name"), (3, "python"), (4, "gpu_list"))
_T51 = ((15, "trainer"), (23, "eval_params"), (27, "infer_params"))
_S32 = ((13, "trainer"), (16, "eval_params"), (19, "infer_params"))


def validate(config: TipcConfig, dialect: str) -> None:
    if config.layout not in (T51, S32):
        return
    for position, key in _HEAD:
        _expect_key(config, position, key)
    if config.layout == S32:
        anchors = _S32
    elif config.key(15).strip() == "trainer" or dialect != "seg":
        anchors = _T51
    else:  # PaddleSeg's PanopticSeg harness has a 55-row layout of its own
        return
    for position, anchor in anchors:
        if anchor == "trainer":
            _expect_key(config, position, anchor)
        else:
            _expect_banner(config, position, anchor, anchors)


def _expect_key(config: TipcConfig, position: int, key: str) -> None:
    line = config.line(position)
    if line.key.strip() != key:
        raise ConfigError(
            config.path, line.lineno or _last_lineno(config), f"`{key}:…` as row {position}",
            f"`{line.text.strip()}`" if line.text else "the end of the file",
            f"rows are read by position (blank lines do not count); put the `{key}:` row at position "
            f"{position}, restoring any row that was deleted or merged above it",
        )


def _expect_banner(config: TipcConfig, position: int, name: str,
                   anchors: tuple[tuple[int, str], ...]) -> None:
    line = config.line(position)
    if line.text.strip().startswith("===") and (name in line.text or position != 23):
        return  # PaddleSeg names row 27 `export_params`; any banner anchors it
    actual = next((other.position for other in config.lines
                   if other.text.strip().startswith("===") and name in other.text), None)
    if actual is None:
        fix = f"add the `===…{name}…===` banner as row {position}"
    else:
        gap = position - actual
        section_start = max((p for p, _ in anchors if p < position), default=1)
        rows = "row is" if abs(gap) == 1 else "rows are"
        fix = (f"the banner sits at row {actual} (line {config.line(actual).lineno}), so {abs(gap)} {rows} "
               f"{'missing' if gap > 0 else 'extra'} between rows {section_start} and {position}; "
               f"{'add `null:null` placeholder rows' if gap > 0 else 'remove the extra rows'} there "
               f"(see the 51-row map in the TIPC spec)")
    raise ConfigError(
        config.path, line.lineno or _last_lineno(config), f"the `===…{name}…===` banner as row {position}",
        f"`{line.text.strip()}`" if line.text else "the end of the file", fix,
    )


def _last_lineno(config: TipcConfig) -> int:
    return config.lines[-1].lineno if config.lines else 1

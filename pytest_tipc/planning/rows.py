"""The key every row of a positional TIPC config must carry, per layout (a family's own rows are
its :attr:`~pytest_tipc.planning.family.Family.rows`).

The harness reads rows by position, so one deleted or doubled row shifts every later key and
upstream then runs nonsense (``python False``, an inference *script* named ``gpu``). Each row of
the 51-row (T51) and 32-row (S32) layouts has a rule here: an exact key (``trainer``,
``norm_export``, ``##``, a banner), a key pattern for the parameter rows whose names each family
spells its own way (row 41 holds a "use gpu / device" flag: ``--use_gpu``, ``-o Global.use_gpu``,
``--device``), or "any parameter key" (row 13, row 51). A parameter row never accepts a key that
belongs to another row (``inference``, ``eval``, a banner, ``##``), which is how shifts show.

The patterns were taken from the whole conformance corpus (585 upstream configs of the five
families): every row of every legitimate config fits them. Rows after 51 (the benchmark
sections) are free. PaddleSeg's PanopticSeg 55-row layout has rules of its own.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from pytest_tipc.model.config import S32, T51, ConfigError, Line, TipcConfig

STRUCTURAL = frozenset({
    "model_name", "python", "gpu_list", "train_model_name", "trainer", "eval", "infer_model", "train_model",
    "infer_export", "infer_quant", "infer_mode", "inference", "norm_train", "pact_train", "fpgm_train",
    "distill_train", "amp_train", "norm_export", "quant_export", "pact_export", "fpgm_export", "distill_export",
    "export1", "export2", "kl_quant", "kl_quant_export", "##",
})
# Trainer names the harnesses know; row 15 may also name any key of its trainer rows.
KNOWN_TRAINERS = ("norm_train", "pact_train", "fpgm_train", "distill_train", "amp_train", "to_static_train",
                  "fleet_train", "quant_train", "kl_quant")


@dataclass(frozen=True)
class Rule:
    """What row ``position`` must hold: ``expect`` for messages, ``pattern`` matched against the
    stripped key (or the whole text for banners); ``param`` rules refuse structural keys."""

    expect: str
    pattern: re.Pattern[str]
    param: bool = False
    banner: bool = False
    words: str = ""  # a parameter row's key must mention one of these (``img|image|video``)

    def fits(self, line: Line) -> bool:
        if not line.lineno:
            return False
        text = line.text.strip()
        if self.banner:
            return bool(self.pattern.fullmatch(text))
        key = line.key.strip()
        if self.param and (key in STRUCTURAL or key.startswith("===")):
            return False
        return bool(self.pattern.fullmatch(key))


def key_rule(*keys: str) -> Rule:
    return Rule(" or ".join(f"`{k}:…`" for k in keys), re.compile("|".join(re.escape(k) for k in keys)))


def param_rule(what: str, words: str = "", null: bool = True) -> Rule:
    """A parameter row whose key mentions one of ``words`` (or ``null``, a placeholder, unless
    ``null=False``); without ``words``, any key that belongs to no other row."""
    pattern = (rf"(?i).*(?:{'null|' if null else ''}{words}).*") if words else r".*"
    return Rule(f"a parameter key ({what})" if words else "a parameter key", re.compile(pattern), param=True,
                words=words)


def banner_rule(*names: str) -> Rule:
    alternatives = "|".join(names)
    return Rule(f"the `===…{names[0]}…===` banner", re.compile(rf"=+\s*(?:{alternatives})\s*=*"), banner=True)


_TRAINER_ROW = Rule("a trainer row (`norm_train:…`, `pact_train:…`, …, or `null:null`)",
                    re.compile(r"null|[\w.-]*(?:train|export)[\w.-]*"))
HASH_RULE = Rule("`##`", re.compile("##"))

T51_RULES: dict[int, Rule] = {
    1: banner_rule("train_params"), 2: key_rule("model_name"), 3: key_rule("python"), 4: key_rule("gpu_list"),
    5: param_rule("use gpu / device", "gpu|device"),
    6: param_rule("auto cast / precision", "cast|precision|amp"),
    7: param_rule("epochs / iterations", "epoch|iter"),
    8: param_rule("output / save dir", "output|save|dir"),
    9: param_rule("train batch size", "batch|bs"),
    10: param_rule("pretrained weights", "pretrain|checkpoint|model_path|weights|resume"),
    11: key_rule("train_model_name", "trained_model_name"),
    12: param_rule("train/infer image or data dir", "img|image|data|dir"),
    13: param_rule("any"),
    14: HASH_RULE, 15: key_rule("trainer"),
    **{p: _TRAINER_ROW for p in range(16, 22)},
    22: HASH_RULE, 23: banner_rule("eval_params"), 24: key_rule("eval"), 25: param_rule("any"), 26: HASH_RULE,
    27: banner_rule("infer_params", "export_params"),
    28: param_rule("inference model save dir", "save|output|dir"),
    29: param_rule("weights to export", "pretrain|checkpoint|model_path|weights"),
    30: key_rule("norm_export"), 31: key_rule("quant_export", "pact_export"), 32: key_rule("fpgm_export"),
    33: key_rule("distill_export"), 34: key_rule("export1", "kl_quant"), 35: key_rule("export2", "export_onnx"),
    36: Rule("`##`, `inference_dir:…` or `pretrained_model_url:…`",
             re.compile(r"##|inference_dir|pretrained_model_url|inference_model_url")),
    37: key_rule("infer_model", "train_model"), 38: key_rule("infer_export"), 39: key_rule("infer_quant"),
    40: key_rule("inference"),
    41: param_rule("use gpu / device", "gpu|device"),
    42: param_rule("mkldnn", "mkldnn"),
    43: param_rule("cpu threads", "thread"),
    44: param_rule("inference batch size", "batch"),
    45: param_rule("tensorrt", "tensorrt|trt"),
    46: param_rule("precision", "precision|fp16|run_mode"),
    47: param_rule("inference model dir", "model|config"),
    48: param_rule("image dir", "img|image|video"),
    49: param_rule("save log path", "log"),
    50: param_rule("benchmark", "benchmark", null=False),  # never a placeholder upstream
    51: param_rule("any"),
}

S32_RULES: dict[int, Rule] = {
    1: banner_rule("train_params"), 2: key_rule("model_name"), 3: key_rule("python"), 4: key_rule("gpu_list"),
    5: param_rule("use gpu / device", "gpu|device"), 6: param_rule("epochs", "epoch|iter"),
    7: param_rule("output dir", "output|save|dir"), 8: param_rule("train batch size", "batch|bs"),
    9: param_rule("pretrained weights", "pretrain|checkpoint|model_path|weights|resume"),
    10: key_rule("train_model_name"), 11: param_rule("data path", "data|img|image|dir"), 12: HASH_RULE,
    13: key_rule("trainer"), 14: _TRAINER_ROW, 15: Rule("`#`/`##`", re.compile(r"#+")),
    16: banner_rule("eval_params"), 17: key_rule("eval"), 18: HASH_RULE, 19: banner_rule("infer_params"),
    20: param_rule("inference model save dir", "save|output|dir"),
    21: param_rule("weights to export", "pretrain|checkpoint|model_path|weights"), 22: key_rule("norm_export"),
    23: HASH_RULE, 24: key_rule("train_model", "infer_model"), 25: key_rule("infer_export"), 26: HASH_RULE,
    27: key_rule("inference"), 28: param_rule("use gpu / device", "gpu|device"),
    29: param_rule("inference batch size", "batch"), 30: param_rule("inference model dir", "model|config"),
    31: param_rule("image path", "img|image|video"), 32: param_rule("benchmark", "benchmark"),
}
# PaddleSeg's PanopticSeg 55-row layout: a `--config` row at 11 shifts the train section by one,
# the export section has `--input_shape` and `--config`, and `inference` comes after its parameters.
PANOPTIC_RULES: dict[int, Rule] = {
    **{p: T51_RULES[p] for p in range(1, 11)},
    11: param_rule("train config", "config"), 12: key_rule("train_model_name"),
    13: param_rule("train/infer image or data dir", "img|image|data|dir"), 14: param_rule("any"), 15: HASH_RULE,
    16: key_rule("trainer"), **{p: _TRAINER_ROW for p in range(17, 23)}, 23: HASH_RULE,
    24: banner_rule("eval_params"), 25: key_rule("eval"), 26: param_rule("any"), 27: HASH_RULE, 28: banner_rule("export_params"),
    29: param_rule("inference model save dir", "save|output|dir"),
    30: param_rule("weights to export", "pretrain|checkpoint|model_path|weights"),
    31: param_rule("input shape", "shape"), 32: param_rule("export config", "config"),
    33: key_rule("norm_export"), 34: key_rule("quant_export"), 35: key_rule("fpgm_export"),
    36: key_rule("distill_export"), 37: key_rule("export1"), 38: key_rule("export2"), 39: banner_rule("infer_params"),
    40: key_rule("infer_model"), **{p: T51_RULES[p] for p in range(41, 51)},
    51: key_rule("inference"), 52: key_rule("infer_export"), 53: key_rule("infer_quant"),
    54: param_rule("any"), 55: param_rule("any"),
}


class RowRules(Protocol):
    """What a dialect family (:class:`pytest_tipc.planning.family.Family`) says about its rows."""

    @property
    def name(self) -> str: ...

    @property
    def rows(self) -> Mapping[int, Rule]:
        """Where the family's T51 rows differ from the common map (position → rule)."""

    @property
    def trainer_aliases(self) -> tuple[str, ...]:
        """Trainer names the family's harness accepts besides :data:`KNOWN_TRAINERS`."""

    @property
    def checks_trainers(self) -> bool:
        """False when the harness runs nothing for an unknown trainer name (a skipped cell, not an error)."""


def rules_for(config: TipcConfig, family: RowRules) -> dict[int, Rule]:
    """The rules of the config's layout for ``family`` (``{}`` for layouts checked elsewhere)."""
    dialect = family.name
    if config.layout == S32 or (dialect == "s32" and _shifted_s32(config)):
        return S32_RULES
    if config.layout != T51:
        return {}
    if dialect == "seg" and any(config.key(p).strip() == "--input_shape" for p in range(25, 38)):
        return PANOPTIC_RULES
    return {**T51_RULES, **family.rows}


def _shifted_s32(config: TipcConfig) -> bool:
    """A Step6 32-row config with a row missing or extra (so its layout was not recognised): short,
    a ``trainer`` or ``*_train`` key near where the trainer rows sit, and not Step6's PTQ layout."""
    return len(config) < 40 and not _step6_ptq(config) and any(
        config.key(p).strip() == "trainer" or config.key(p).strip().endswith("_train") for p in range(10, 17))


def _step6_ptq(config: TipcConfig) -> bool:
    """Step6's own ~20-row ``ptq_params`` layout (``trainer:PTQ`` then ``PTQ:<script>``), run by
    test_ptq_inference_python.sh and checked by its planner, not a shifted 32-row config."""
    return any(line.key.strip() == "PTQ" for line in config.lines[:16])


def trainer_position(rules: dict[int, Rule]) -> int:
    return next(p for p, rule in rules.items() if rule.expect == "`trainer:…`")


def check_rows(config: TipcConfig, family: RowRules) -> None:
    """Raise :class:`ConfigError` at the first row whose key does not fit, naming the row that
    is missing or extra; then check the trainer names."""
    rules = rules_for(config, family)
    for position in sorted(rules):
        line = config.line(position)
        if not rules[position].fits(line):
            raise _mismatch(config, rules, position)
    if rules and family.checks_trainers:
        check_trainers(config, family.trainer_aliases, trainer_position(rules), 2 if rules is S32_RULES else 7)


def _score(config: TipcConfig, rules: dict[int, Rule], start: int, shift: int, width: int = 10) -> float:
    """How well rows ``start…start+width`` fit when line ``q`` is read as row ``q - shift``
    (``shift=-1``: a row is missing, ``+1``: a row is extra)."""
    positions = [q for q in range(start, start + width) if q in rules and q + shift >= 1]
    if not positions:
        return 0.0
    return sum(rules[q].fits(config.line(q + shift)) for q in positions) / len(positions)


def _distinctive(rule: Rule) -> bool:
    return (rule.banner or not rule.param) and rule is not HASH_RULE and rule is not _TRAINER_ROW


def _is_other_row(line: Line) -> bool:
    """A key that belongs to a structural row (a sign of a shift, not of a misnamed parameter)."""
    key = line.key.strip()
    return key in STRUCTURAL or key.startswith("===")


def _mismatch(config: TipcConfig, rules: dict[int, Rule], position: int) -> ConfigError:
    line = config.line(position)
    rule = rules[position]
    last = config.lines[-1].lineno if config.lines else 1
    found = f"`{line.text.strip()}`" if line.lineno else "the end of the file"
    here = _score(config, rules, position, 0)
    shift = max((-1, 1, -2, 2), key=lambda s: _score(config, rules, position, s))
    if rule.words and line.lineno and here >= 0.7 and not _is_other_row(line):
        # the rows around it are in place: the key itself breaks the row's rule
        words = ", ".join(f"`{w}`" for w in rule.words.split("|"))
        fix = (f"the rows around it are in place, so the key is what is wrong: row {position}'s key must mention "
               f"one of {words} (case does not matter), as in every upstream config, or be `null` when the script "
               f"takes no such parameter; rename `{line.key.strip()}` here and in the script to a flag that does "
               f"(e.g. `--img-path`), or write `null:null`")
        return ConfigError(config.path, line.lineno, f"{rule.expect} as row {position}", found, fix)
    if _score(config, rules, position, shift) < max(0.7, here + 0.3):
        fix = (f"put {rule.expect} at row {position}; rows are read by position (blank lines do not count), "
               "so restore any row deleted, added or merged above it")
        return ConfigError(config.path, line.lineno or last, f"{rule.expect} as row {position}", found, fix)
    count = abs(shift)
    rows = "row is" if count == 1 else "rows are"
    loose = rule is _TRAINER_ROW or rule.expect == "a parameter key"
    for anchor in sorted(q for q in rules if loose and q >= position and _distinctive(rules[q])):
        if rules[anchor].fits(config.line(anchor)):
            continue
        if not rules[anchor].fits(config.line(anchor + shift)):
            break
        actual = config.line(anchor + shift)
        since = max((q for q in rules if q < position and _distinctive(rules[q])
                     and rules[q].fits(config.line(q))), default=1)
        at = config.line(anchor)
        shown = f"`{at.text.strip()}`" if at.lineno else "the end of the file"
        what = "the banner" if rules[anchor].banner else f"the `{actual.key.strip()}:` row"
        fix = (f"{what} sits at row {actual.position} (position {actual.position}, line {actual.lineno}), so "
               f"{count} {rows} {'missing' if shift < 0 else 'extra'} between rows {since} and {anchor}; "
               + ("add the missing row there (`null:null` for a placeholder)" if shift < 0
                  else "remove the extra rows there"))
        return ConfigError(config.path, at.lineno or last, f"{rules[anchor].expect} as row {anchor}", shown, fix)
    previous = config.line(position - 1)
    after = f"after line {previous.lineno} (`{previous.text.strip()}`)" if previous.lineno else "at the top"
    if not line.lineno:
        fix = (f"the file ends at row {len(config)}: {position - len(config)} row(s) of the {max(rules)}-row layout "
               "are missing above; compare each row with the layout's map")
    elif shift < 0:
        fix = (f"{count} {rows} missing: add {rule.expect} as row {position}, {after}; until then every later "
               "row is read early")
    else:
        fix = (f"line {line.lineno} (`{line.text.strip()}`) is an extra row: remove it (or merge it with its "
               "neighbour); until then every later row is read late")
    return ConfigError(config.path, line.lineno or last, f"{rule.expect} as row {position}", found, fix)


def check_trainers(config: TipcConfig, aliases: tuple[str, ...], position: int, span: int = 7) -> None:
    """Every name in the ``trainer:`` row must be one the harness knows (else it silently runs
    the first trainer row); the error suggests the closest known name. The trainer rows are the
    ``span - 1`` rows after ``position``."""
    line = config.line(position)
    rows = range(position + 1, position + span)
    known = [*dict.fromkeys([config.key(p).strip() for p in rows if config.key(p).strip() != "null"]
                            + list(KNOWN_TRAINERS) + list(aliases))]
    for name in line.value.split("|"):
        name = name.strip()
        if not name or name == "null" or name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        hint = f"did you mean `{close[0]}`? " if close else ""
        raise ConfigError(config.path, line.lineno, f"trainer names among {', '.join(known)}", f"`{name}`",
                          f"{hint}an unknown name silently runs the first trainer row instead")

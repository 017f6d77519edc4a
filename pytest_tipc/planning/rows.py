"""The key every row of a positional TIPC config must carry, per layout and dialect.

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
from dataclasses import dataclass

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
TRAINER_ALIASES = {"seg": ("norm",)}  # PaddleSeg's harness runs norm_train for any other name
TRAINERS_SKIPPED = ("det",)  # PaddleDetection's harness runs nothing for an unknown name: a skipped cell


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


def _exact(*keys: str) -> Rule:
    return Rule(" or ".join(f"`{k}:…`" for k in keys), re.compile("|".join(re.escape(k) for k in keys)))


def _param(what: str, words: str = "", null: bool = True) -> Rule:
    """A parameter row whose key mentions one of ``words`` (or ``null``, a placeholder, unless
    ``null=False``); without ``words``, any key that belongs to no other row."""
    pattern = (rf"(?i).*(?:{'null|' if null else ''}{words}).*") if words else r".*"
    return Rule(f"a parameter key ({what})" if words else "a parameter key", re.compile(pattern), param=True,
                words=words)


def _banner(*names: str) -> Rule:
    alternatives = "|".join(names)
    return Rule(f"the `===…{names[0]}…===` banner", re.compile(rf"=+\s*(?:{alternatives})\s*=*"), banner=True)


_TRAINER_ROW = Rule("a trainer row (`norm_train:…`, `pact_train:…`, …, or `null:null`)",
                    re.compile(r"null|[\w.-]*(?:train|export)[\w.-]*"))
_HASH = Rule("`##`", re.compile("##"))

T51_RULES: dict[int, Rule] = {
    1: _banner("train_params"), 2: _exact("model_name"), 3: _exact("python"), 4: _exact("gpu_list"),
    5: _param("use gpu / device", "gpu|device"),
    6: _param("auto cast / precision", "cast|precision|amp"),
    7: _param("epochs / iterations", "epoch|iter"),
    8: _param("output / save dir", "output|save|dir"),
    9: _param("train batch size", "batch|bs"),
    10: _param("pretrained weights", "pretrain|checkpoint|model_path|weights|resume"),
    11: _exact("train_model_name", "trained_model_name"),
    12: _param("train/infer image or data dir", "img|image|data|dir"),
    13: _param("any"),
    14: _HASH, 15: _exact("trainer"),
    **{p: _TRAINER_ROW for p in range(16, 22)},
    22: _HASH, 23: _banner("eval_params"), 24: _exact("eval"), 25: _param("any"), 26: _HASH,
    27: _banner("infer_params", "export_params"),
    28: _param("inference model save dir", "save|output|dir"),
    29: _param("weights to export", "pretrain|checkpoint|model_path|weights"),
    30: _exact("norm_export"), 31: _exact("quant_export", "pact_export"), 32: _exact("fpgm_export"),
    33: _exact("distill_export"), 34: _exact("export1", "kl_quant"), 35: _exact("export2", "export_onnx"),
    36: Rule("`##`, `inference_dir:…` or `pretrained_model_url:…`",
             re.compile(r"##|inference_dir|pretrained_model_url|inference_model_url")),
    37: _exact("infer_model", "train_model"), 38: _exact("infer_export"), 39: _exact("infer_quant"),
    40: _exact("inference"),
    41: _param("use gpu / device", "gpu|device"),
    42: _param("mkldnn", "mkldnn"),
    43: _param("cpu threads", "thread"),
    44: _param("inference batch size", "batch"),
    45: _param("tensorrt", "tensorrt|trt"),
    46: _param("precision", "precision|fp16|run_mode"),
    47: _param("inference model dir", "model|config"),
    48: _param("image dir", "img|image|video"),
    49: _param("save log path", "log"),
    50: _param("benchmark", "benchmark", null=False),  # never a placeholder upstream
    51: _param("any"),
}
# Where a family's rows differ from the common T51 map.
T51_DIALECT: dict[str, dict[int, Rule]] = {
    "det": {13: _param("any"), 36: _exact("kl_quant_export"), 37: _HASH, 38: _exact("infer_mode")},
    "seg": {36: _banner("infer_params")},
}

S32_RULES: dict[int, Rule] = {
    1: _banner("train_params"), 2: _exact("model_name"), 3: _exact("python"), 4: _exact("gpu_list"),
    5: _param("use gpu / device", "gpu|device"), 6: _param("epochs", "epoch|iter"),
    7: _param("output dir", "output|save|dir"), 8: _param("train batch size", "batch|bs"),
    9: _param("pretrained weights", "pretrain|checkpoint|model_path|weights|resume"),
    10: _exact("train_model_name"), 11: _param("data path", "data|img|image|dir"), 12: _HASH,
    13: _exact("trainer"), 14: _TRAINER_ROW, 15: Rule("`#`/`##`", re.compile(r"#+")),
    16: _banner("eval_params"), 17: _exact("eval"), 18: _HASH, 19: _banner("infer_params"),
    20: _param("inference model save dir", "save|output|dir"),
    21: _param("weights to export", "pretrain|checkpoint|model_path|weights"), 22: _exact("norm_export"),
    23: _HASH, 24: _exact("train_model", "infer_model"), 25: _exact("infer_export"), 26: _HASH,
    27: _exact("inference"), 28: _param("use gpu / device", "gpu|device"),
    29: _param("inference batch size", "batch"), 30: _param("inference model dir", "model|config"),
    31: _param("image path", "img|image|video"), 32: _param("benchmark", "benchmark"),
}
# PaddleSeg's PanopticSeg 55-row layout: a `--config` row at 11 shifts the train section by one,
# the export section has `--input_shape` and `--config`, and `inference` comes after its parameters.
PANOPTIC_RULES: dict[int, Rule] = {
    **{p: T51_RULES[p] for p in range(1, 11)},
    11: _param("train config", "config"), 12: _exact("train_model_name"),
    13: _param("train/infer image or data dir", "img|image|data|dir"), 14: _param("any"), 15: _HASH,
    16: _exact("trainer"), **{p: _TRAINER_ROW for p in range(17, 23)}, 23: _HASH,
    24: _banner("eval_params"), 25: _exact("eval"), 26: _param("any"), 27: _HASH, 28: _banner("export_params"),
    29: _param("inference model save dir", "save|output|dir"),
    30: _param("weights to export", "pretrain|checkpoint|model_path|weights"),
    31: _param("input shape", "shape"), 32: _param("export config", "config"),
    33: _exact("norm_export"), 34: _exact("quant_export"), 35: _exact("fpgm_export"),
    36: _exact("distill_export"), 37: _exact("export1"), 38: _exact("export2"), 39: _banner("infer_params"),
    40: _exact("infer_model"), **{p: T51_RULES[p] for p in range(41, 51)},
    51: _exact("inference"), 52: _exact("infer_export"), 53: _exact("infer_quant"),
    54: _param("any"), 55: _param("any"),
}


def rules_for(config: TipcConfig, dialect: str) -> dict[int, Rule]:
    """The rules of the config's layout for ``dialect`` (``{}`` for layouts checked elsewhere)."""
    if config.layout == S32 or (dialect == "s32" and _shifted_s32(config)):
        return S32_RULES
    if config.layout != T51:
        return {}
    if dialect == "seg" and any(config.key(p).strip() == "--input_shape" for p in range(25, 38)):
        return PANOPTIC_RULES
    return {**T51_RULES, **T51_DIALECT.get(dialect, {})}


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


def check_rows(config: TipcConfig, dialect: str) -> None:
    """Raise :class:`ConfigError` at the first row whose key does not fit, naming the row that
    is missing or extra; then check the trainer names."""
    rules = rules_for(config, dialect)
    for position in sorted(rules):
        line = config.line(position)
        if not rules[position].fits(line):
            raise _mismatch(config, rules, position)
    if rules and dialect not in TRAINERS_SKIPPED:
        check_trainers(config, dialect, trainer_position(rules), 2 if rules is S32_RULES else 7)


def _score(config: TipcConfig, rules: dict[int, Rule], start: int, shift: int, width: int = 10) -> float:
    """How well rows ``start…start+width`` fit when line ``q`` is read as row ``q - shift``
    (``shift=-1``: a row is missing, ``+1``: a row is extra)."""
    positions = [q for q in range(start, start + width) if q in rules and q + shift >= 1]
    if not positions:
        return 0.0
    return sum(rules[q].fits(config.line(q + shift)) for q in positions) / len(positions)


def _distinctive(rule: Rule) -> bool:
    return (rule.banner or not rule.param) and rule is not _HASH and rule is not _TRAINER_ROW


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


def check_trainers(config: TipcConfig, dialect: str, position: int, span: int = 7) -> None:
    """Every name in the ``trainer:`` row must be one the harness knows (else it silently runs
    the first trainer row); the error suggests the closest known name. The trainer rows are the
    ``span - 1`` rows after ``position``."""
    line = config.line(position)
    rows = range(position + 1, position + span)
    known = [*dict.fromkeys([config.key(p).strip() for p in rows if config.key(p).strip() != "null"]
                            + list(KNOWN_TRAINERS) + list(TRAINER_ALIASES.get(dialect, ())))]
    for name in line.value.split("|"):
        name = name.strip()
        if not name or name == "null" or name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        hint = f"did you mean `{close[0]}`? " if close else ""
        raise ConfigError(config.path, line.lineno, f"trainer names among {', '.join(known)}", f"`{name}`",
                          f"{hint}an unknown name silently runs the first trainer row instead")

"""pytest_tipc.planning.dialects.bash: the one home of the harnesses' bash constructs, as each
dialect calls them."""

from __future__ import annotations

import pytest

from pytest_tipc.planning.dialects import bash
from pytest_tipc.planning.dialects.bash import at, dirname, eval_words, ifs_split, mode_value, words
from pytest_tipc.planning.dialects.seg import steps as seg_steps


class TestIfsSplit:
    def test_pipe_lists_as_for_loops_see_them(self) -> None:
        # `for gpu in ${gpu_list[*]}` under IFS="|" (every T51 planner, Det, Clas)
        assert ifs_split("-1|0|0,1") == ["-1", "0", "0,1"]
        assert ifs_split("a||b|") == ["a", "", "b"]  # inner empty stays, one trailing one does not
        assert ifs_split("|") == [""]
        assert ifs_split("") == []  # zero iterations
        assert ifs_split(" ") == [" "]  # IFS="|" does not split on blanks

    def test_other_separators(self) -> None:
        # IFS="=" on a mode entry; IFS="," on the IPs of a multi-node entry
        assert ifs_split("lite_train_lite_infer=1=2", "=") == ["lite_train_lite_infer", "1", "2"]
        assert ifs_split("lite=", "=") == ["lite"]
        assert ifs_split("=x", "=") == ["", "x"]
        assert ifs_split("10.0.0.1,10.0.0.2,", ",") == ["10.0.0.1", "10.0.0.2"]

    def test_strip_as_the_seg_planners_read_rows(self) -> None:
        assert ifs_split(" a | b |", strip=True) == ["a", "b"]
        assert ifs_split("   ", strip=True) == []
        assert ifs_split("a| ", strip=True) == ["a", ""]  # a blank last field is not a trailing separator
        assert seg_steps.ifs_split(" a | b |") == ["a", "b"]


class TestWords:
    def test_eval_splitting_keeps_shell_syntax_literal(self) -> None:
        assert words('a -o x="1 2" ; touch PWNED $(id) > f') == [
            "a", "-o", "x=1 2", ";", "touch", "PWNED", "$(id)", ">", "f"]
        assert words("a 'b c") == ["a", "'b", "c"]  # unbalanced quote: whitespace only
        assert words("  ") == []

    def test_eval_under_a_pipe_ifs(self) -> None:
        # PaddleClas runs `eval $cmd` while IFS='|': a `|` separates words like a blank
        assert eval_words('x -o a="1|2"') == ["x", "-o", "a=1 2"]
        assert eval_words("python3 train.py|-o|A=1") == ["python3", "train.py", "-o", "A=1"]
        assert eval_words("a,b c", ifs=",") == ["a", "b", "c"]


class TestModeValue:
    @pytest.mark.parametrize(("value", "mode", "expected"), [
        ("lite_train_lite_infer=2|whole_train_whole_infer=120", "lite_train_lite_infer", "2"),
        ("lite_train_lite_infer=2|whole_train_whole_infer=120", "whole_train_whole_infer", "120"),
        ("lite_train_lite_infer=2|whole_train_whole_infer=120", "whole_infer", ""),  # absent: omitted
        ("8", "lite_train_lite_infer", ""),  # a plain value: omitted
        ("lite_train_lite_infer=1=2", "lite_train_lite_infer", "1"),  # IFS="=": the second field only
        ("lite_train_lite_infer|lite_train_lite_infer=3", "lite_train_lite_infer", ""),  # first match wins
        ("lite_train_lite_infer=", "lite_train_lite_infer", ""),
    ])
    def test_func_parser_params(self, value: str, mode: str, expected: str) -> None:
        assert mode_value(value, mode) == expected


def test_array_index_and_dirname() -> None:
    assert at(["a", "b"], 1) == "b" and at(["a"], 3) == "" and at(["a"], -1) == ""
    assert [dirname(p) for p in ("./a/b/model.pdparams", "./a/b/", "model", "/x", "null", "", "//")] == [
        "./a/b", "./a", ".", "/", ".", ".", "/"]


def test_every_dialect_splits_with_this_module() -> None:
    """The dialects import these functions; none keeps a copy of its own."""
    from pytest_tipc.planning.dialects import common
    from pytest_tipc.planning.dialects.clas import infer as clas_infer
    from pytest_tipc.planning.dialects.clas import planner as clas_planner
    from pytest_tipc.planning.dialects.det import planner as det_planner
    from pytest_tipc.planning.dialects.det import rows as det_rows
    from pytest_tipc.planning.dialects.ocr import planner as ocr_planner
    from pytest_tipc.planning.dialects.s32 import planner as s32_planner
    from pytest_tipc.planning.dialects.seg import train as seg_train
    from pytest_tipc.planning.dialects.template import core, planner

    assert common.words is bash.words and core.words is bash.words and seg_steps.words is bash.words
    for module in (core, clas_infer, clas_planner, ocr_planner, s32_planner, planner):
        assert module.bash_list is bash.ifs_split, module.__name__
    assert det_rows.ifs_split is bash.ifs_split and clas_planner.eval_words is bash.eval_words
    for module in (det_planner, s32_planner, seg_train, core):
        assert module.mode_value is bash.mode_value, module.__name__

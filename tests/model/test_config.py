"""The config model: physical parsing rules and every edge case listed in TIPC_HARNESS.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tipc.model.config import (
    EMPTY,
    PTQ20,
    S32,
    T51,
    ConfigError,
    parse_file,
    parse_text,
    set_param,
)
from pytest_tipc.model.gpus import GpuEntry
from pytest_tipc.planning.dialects.bash import grep_w, ifs_split, mode_value, words
from pytest_tipc.planning.plan import detect_dialect, validate
from tests.support.configs import t51_text


class TestPhysicalRules:
    def test_blank_lines_do_not_count_but_keep_their_line_numbers(self) -> None:
        config = parse_text("===a===\n\nmodel_name:m\n\n\npython:python3.7\n")
        assert [line.position for line in config.lines] == [1, 2, 3]
        assert [line.lineno for line in config.lines] == [1, 3, 6]
        assert config.model_name == "m"
        assert config.python == "python3.7"

    def test_crlf_and_missing_trailing_newline(self) -> None:
        config = parse_text("===a===\r\nmodel_name:m\r\npython:python3")
        assert config.value(2) == "m"
        assert config.value(3) == "python3"

    def test_banner_and_hash_rows_occupy_positions(self) -> None:
        config = parse_text("===a===\n##\nx:1\n")
        assert config.line(2).text == "##"
        assert config.value(3) == "1"

    def test_past_the_end_is_empty_like_bash(self) -> None:
        config = parse_text("a:1\n")
        assert config.line(40).text == ""
        assert config.value(40) == ""

    def test_trailing_spaces_are_kept(self) -> None:
        config = parse_text("===eval_params=== \nnorm_export:tools/export.py -c x.yml -o \n")
        assert config.line(1).text.endswith(" ")
        assert config.value(2) == "tools/export.py -c x.yml -o "

    def test_grep_counts_blank_lines(self) -> None:
        text = "a:1\n\n===to_static_train_benchmark_params===\nto_static_train:--to_static\n"
        config = parse_text(text)
        hits = grep_w(config.raw_lines, "to_static_train_benchmark_params")  # `grep -n -w`, as Det uses it
        assert hits == [3]
        line = next(line for line in config.lines if line.lineno == hits[0] + 1)
        assert line.lineno == 4
        assert line.value == "--to_static"
        assert grep_w(config.raw_lines, "to_static_train") == [4]  # `-w`: not inside the banner's longer word

    def test_non_utf8_names_file_and_line(self, tmp_path: Path) -> None:
        path = tmp_path / "bad.txt"
        path.write_bytes(b"model_name:x\npython:py\xff\n")
        with pytest.raises(ConfigError) as info:
            parse_file(path)
        assert f"{path}:2" in str(info.value)
        assert "save the file as UTF-8" in str(info.value)

    def test_missing_file_is_a_config_error(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="readable TIPC config"):
            parse_file(tmp_path / "nope.txt")


class TestValues:
    def test_colon_in_value_bash_vs_full(self) -> None:
        line = parse_text("pretrained_model_url:https://paddle.bj/x.pdparams\n").line(1)
        assert line.key == "pretrained_model_url"
        assert line.value == "https"  # bash: only the text between the 1st and 2nd colon
        assert line.full_value == "https://paddle.bj/x.pdparams"  # PaddleDetection's ${s#*:}

    def test_key_only_rows_are_templates(self) -> None:
        line = parse_text("Global.checkpoints:\n").line(1)
        assert (line.key, line.value, ":" in line.text) == ("Global.checkpoints", "", True)

    def test_keys_that_are_cli_fragments(self) -> None:
        line = parse_text("-o Global.epochs:lite_train_lite_infer=2|whole_train_whole_infer=120\n").line(1)
        assert line.key == "-o Global.epochs"
        assert set_param(line.key, mode_value(line.value, "lite_train_lite_infer")) == "-o Global.epochs=2"
        assert words("tools/train.py -c x.yml -o " + "-o Global.epochs=2") == [
            "tools/train.py", "-c", "x.yml", "-o", "-o", "Global.epochs=2"]

    def test_mode_keyed_values(self) -> None:
        value = "lite_train_lite_infer=1|whole_train_whole_infer=300"
        assert mode_value(value, "lite_train_lite_infer") == "1"
        assert mode_value(value, "whole_train_whole_infer") == "300"
        assert mode_value(value, "lite_train_whole_infer") == ""  # absent mode: parameter omitted
        assert mode_value("8", "lite_train_lite_infer") == ""  # plain value: omitted too

    @pytest.mark.parametrize(("key", "value"), [("null", "1"), ("--epochs", "null"), ("--epochs", ""),
                                                ("--epochs", " ")])
    def test_null_semantics(self, key: str, value: str) -> None:
        assert set_param(key, value) == " "

    def test_set_param_joins_without_space(self) -> None:
        assert set_param("--epochs", "5") == "--epochs=5"

    def test_lists(self) -> None:
        assert ifs_split("norm_train|pact_train") == ["norm_train", "pact_train"]
        assert ifs_split("null") == ["null"]
        assert ifs_split("a||b|") == ["a", "", "b"]
        assert ifs_split("") == []

    def test_shell_content_stays_literal(self) -> None:
        argv = words('train.py -o NormalizeImage.mean=[0.,0.,0.] --rec_image_shape="3,48,320" ; touch PWNED')
        assert argv == ["train.py", "-o", "NormalizeImage.mean=[0.,0.,0.]", "--rec_image_shape=3,48,320",
                        ";", "touch", "PWNED"]

    def test_unbalanced_quote_falls_back_to_whitespace(self) -> None:
        assert words("a 'b c") == ["a", "'b", "c"]


class TestGpuList:
    @pytest.mark.parametrize(("entry", "kind", "gpus", "nodes"), [
        ("-1", "cpu", "-1", 1),
        ("0", "single", "0", 1),
        ("0,1", "multi", "0,1", 1),
        ("192.168.0.1,192.168.0.2;0,1", "nodes", "0,1", 2),
        ("xx.xx.xx.xx,yy.yy.yy.yy;0,1", "nodes", "0,1", 2),
        # 19 characters: the harness's length rule calls this one node; we count the IPs
        ("127.0.0.1,127.0.0.1;0,1", "nodes", "0,1", 2),
    ])
    def test_classify(self, entry: str, kind: str, gpus: str, nodes: int) -> None:
        got = GpuEntry.parse(entry)
        assert (got.kind, got.gpus, got.nnodes) == (kind, gpus, nodes)


class TestLayouts:
    def test_t51(self) -> None:
        assert parse_text(t51_text()).layout == T51

    def test_s32(self) -> None:
        lines = ["===train_params==="] + [f"k{i}:v" for i in range(2, 13)] + ["trainer:norm_train"]
        lines += [f"x{i}:y" for i in range(14, 33)]
        assert parse_text("\n".join(lines)).layout == S32

    def test_ptq20_even_with_a_train_banner(self) -> None:
        text = "===========================train_params===========================\n" + "\n".join(
            f"k{i}:v" for i in range(2, 21))
        assert parse_text(text).layout == PTQ20

    def test_empty(self) -> None:
        assert parse_text("").layout == EMPTY


class TestDetect:
    def test_markers_win(self, tmp_path: Path) -> None:
        (tmp_path / "ppcls").mkdir()
        assert detect_dialect(parse_text(t51_text()), tmp_path) == "clas"

    @pytest.mark.parametrize(("key29", "dialect"), [
        ("weights", "det"), ("-o Global.pretrained_model", "clas"), ("--model_path", "seg"),
        ("Global.checkpoints", "ocr"), ("--pretrained", "template")])
    def test_export_weights_key(self, tmp_path: Path, key29: str, dialect: str) -> None:
        assert detect_dialect(parse_text(t51_text({29: f"{key29}:"})), tmp_path) == dialect


class TestValidate:
    def test_a_missing_row_names_line_expectation_and_fix(self) -> None:
        text = t51_text()
        lines = text.split("\n")
        del lines[19]  # drop row 20 (a null:null placeholder): every later row shifts up
        config = parse_text("\n".join(lines), "configs/m/train_infer_python.txt")
        with pytest.raises(ConfigError) as info:
            validate(config, "ocr")
        message = str(info.value)
        assert message.startswith("configs/m/train_infer_python.txt:23: expected the `===…eval_params…===` banner")
        assert "found `eval:null`" in message
        assert "1 row is missing between rows 15 and 23" in message

    def test_wrong_key_at_fixed_position(self) -> None:
        config = parse_text(t51_text({15: "trainr:norm_train"}), "x.txt")
        with pytest.raises(ConfigError) as info:
            validate(config, "template")
        assert str(info.value).startswith("x.txt:15: expected `trainer:…` as row 15, found `trainr:norm_train`")
        assert "put `trainer:…` at row 15" in str(info.value)

    def test_a_good_config_passes(self) -> None:
        validate(parse_text(t51_text()), "ocr")

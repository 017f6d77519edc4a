"""Collection through real pytest sessions (pytester): items, ids, selection, dry-run records, errors."""

from __future__ import annotations

import collections
import importlib.util
import json
from pathlib import Path

import pytest

from tests.support.configs import t51_text

pytest_plugins = ["pytester"]

MATRIX = {
    4: "gpu_list:-1|0",
    5: "--use-gpu:False|True",
    15: "trainer:norm_train|pact_train",
    41: "--use-gpu:False|True",
    42: "--enable-mkldnn:False|True",
    46: "--precision:fp32|int8",
}


def write_config(pytester: pytest.Pytester, text: str, name: str = "tiny/train_infer_python.txt") -> Path:
    path = pytester.path / "test_tipc" / "configs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def collected(result: pytest.RunResult) -> list[str]:
    return [line.split("::", 1)[1] for line in result.stdout.lines if "::" in line]


def records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


class TestItems:
    def test_one_item_per_cell_with_readable_ids(self, pytester: pytest.Pytester) -> None:
        cfg = write_config(pytester, t51_text(MATRIX))
        result = pytester.runpytest("--tipc-config", str(cfg), "--collect-only", "-q")
        names = collected(result)
        trains = [n for n in names if n.startswith("train[")]
        assert trains == ["train[cpu-null-norm_train]", "train[cpu-null-pact_train]",
                          "train[gpu0-null-norm_train]", "train[gpu0-null-pact_train]"]
        infers = [n for n in names if n.startswith("infer[")]
        # norm: cpu × mkldnn{F,T} × {fp32,int8} (the upstream CPU loop skips only fp16 without
        # mkldnn); pact (quant): int8 only; GPU: int8 only for quant models, and only with TensorRT
        assert "infer[cpu-null-norm_train-cpu-t1-fp32-bs1]" in infers
        assert "infer[cpu-null-norm_train-cpu-mkldnn-t1-fp32-bs1]" in infers
        assert "infer[cpu-null-pact_train-cpu-mkldnn-t1-int8-bs1]" in infers
        assert not any("pact_train-cpu" in n and "fp32" in n for n in infers)
        assert len(names) == len(set(names))

    def test_collection_is_deterministic(self, pytester: pytest.Pytester) -> None:
        cfg = write_config(pytester, t51_text(MATRIX))
        first = collected(pytester.runpytest("--tipc-config", str(cfg), "--collect-only", "-q"))
        second = collected(pytester.runpytest("--tipc-config", str(cfg), "--collect-only", "-q"))
        assert first == second and first

    def test_directory_and_glob(self, pytester: pytest.Pytester) -> None:
        write_config(pytester, t51_text(), "a/train_infer_python.txt")
        write_config(pytester, t51_text({2: "model_name:other"}), "b/train_amp_infer_python.txt")
        write_config(pytester, "not a config", "b/readme.txt")
        by_dir = pytester.runpytest("--tipc-config", "test_tipc/configs", "--collect-only", "-q")
        files = {line.split("::")[0] for line in by_dir.stdout.lines if "::" in line}
        assert files == {"test_tipc/configs/a/train_infer_python.txt", "test_tipc/configs/b/train_amp_infer_python.txt"}
        by_glob = pytester.runpytest("--tipc-config", "test_tipc/configs/*/train_amp*.txt", "--collect-only", "-q")
        assert {line.split("::")[0] for line in by_glob.stdout.lines if "::" in line} == {
            "test_tipc/configs/b/train_amp_infer_python.txt"}

    def test_ini_options(self, pytester: pytest.Pytester) -> None:
        write_config(pytester, t51_text())
        pytester.makeini("[pytest]\ntipc_configs = test_tipc/configs\ntipc_mode = whole_infer\n")
        result = pytester.runpytest("--collect-only", "-q")
        names = collected(result)
        assert names and all(n.startswith(("model[", "infer[")) for n in names), names

    def test_missing_path_is_a_usage_error(self, pytester: pytest.Pytester) -> None:
        result = pytester.runpytest("--tipc-config", "nope/x.txt")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(["*--tipc-config nope/x.txt: no such file or directory*"])

    def test_bad_option_values_are_usage_errors(self, pytester: pytest.Pytester) -> None:
        result = pytester.runpytest("--tipc-stage-timeout", "trian=5")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(["*expected STAGE=SECONDS with STAGE one of*"])

    def test_empty_config_is_a_skip_with_a_reason(self, pytester: pytest.Pytester) -> None:
        cfg = write_config(pytester, "")
        result = pytester.runpytest("--tipc-config", str(cfg), "--tipc-dry-run", "-rs")
        result.assert_outcomes(skipped=1)


class TestSelection:
    def test_k_tokens(self, pytester: pytest.Pytester) -> None:
        cfg = write_config(pytester, t51_text(MATRIX))
        names = collected(pytester.runpytest("--tipc-config", str(cfg), "--collect-only", "-q", "-k", "pact and int8"))
        assert names and all("pact" in n and "int8" in n for n in names)
        mkl = collected(pytester.runpytest("--tipc-config", str(cfg), "--collect-only", "-q", "-k", "mkldnn"))
        assert mkl and all("-mkldnn-" in n for n in mkl)

    def test_m_tipc_fields(self, pytester: pytest.Pytester) -> None:
        cfg = write_config(pytester, t51_text(MATRIX))
        args = ["--tipc-config", str(cfg), "--collect-only", "-q"]
        int8 = collected(pytester.runpytest(*args, "-m", "tipc(precision='int8')"))
        assert int8 and all("int8" in n for n in int8)
        cpu_train = collected(pytester.runpytest(*args, "-m", "tipc(kind='train', gpus='-1')"))
        assert cpu_train == ["train[cpu-null-norm_train]", "train[cpu-null-pact_train]"]

    def test_plain_markers(self, pytester: pytest.Pytester) -> None:
        cfg = write_config(pytester, t51_text({**MATRIX, 4: "gpu_list:-1|0|0,1|127.0.0.1,127.0.0.1;0,1",
                                               5: "--use-gpu:False|True|True|True"}))
        args = ["--tipc-config", str(cfg), "--collect-only", "-q"]
        gpu = collected(pytester.runpytest(*args, "-m", "gpu and tipc(kind='train')"))
        assert "train[cpu-null-norm_train]" not in gpu and "train[gpu0-null-norm_train]" in gpu
        multi = collected(pytester.runpytest(*args, "-m", "multi_gpu and tipc(kind='train')"))
        assert "train[gpu0_1-null-norm_train]" in multi and "train[gpu0-null-norm_train]" not in multi
        nodes = collected(pytester.runpytest(*args, "-m", "multi_node"))
        # infer items of a two-node train cell need that training too
        assert [n for n in nodes if n.startswith("train[")] == [
            "train[nodes2-gpu0_1-null-norm_train]", "train[nodes2-gpu0_1-null-pact_train]"]
        assert nodes and all(n.split("[")[1].startswith("nodes2-") for n in nodes)


class TestDryRun:
    def test_records_match_the_plan_and_pass(self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")  # a dry run skips the GPU cells a machine lacks
        cfg = write_config(pytester, t51_text(MATRIX))
        out = pytester.path / "rec.jsonl"
        result = pytester.runpytest("--tipc-config", str(cfg), "--tipc-dry-run", "--tipc-record", str(out))
        result.assert_outcomes(passed=len(collected(pytester.runpytest("--tipc-config", str(cfg),
                                                                       "--collect-only", "-q"))))
        recs = records(out)
        assert all(set(r) == {"argv", "cwd", "cuda_visible_devices"} for r in recs)
        first = recs[0]
        assert first["argv"][:3] == ["python", "tool.py", "train"]  # type: ignore[index]
        assert "--use-gpu=False" in first["argv"]  # type: ignore[operator]
        assert first["cuda_visible_devices"] is None
        assert not (pytester.path / "test_tipc" / "output").exists()  # nothing ran

    def test_same_records_under_xdist(self, pytester: pytest.Pytester) -> None:
        pytest.importorskip("xdist")
        cfg = write_config(pytester, t51_text(MATRIX))
        serial, parallel = pytester.path / "serial.jsonl", pytester.path / "parallel.jsonl"
        pytester.runpytest("--tipc-config", str(cfg), "--tipc-dry-run", "--tipc-record", str(serial))
        result = pytester.runpytest_subprocess("--tipc-config", str(cfg), "--tipc-dry-run", "--tipc-record",
                                               str(parallel), "-n", "2", "-p", "xdist")
        assert result.ret == 0, result.stdout.str()
        key = lambda r: json.dumps(r, sort_keys=True)  # noqa: E731
        assert collections.Counter(map(key, records(serial))) == collections.Counter(map(key, records(parallel)))

    def test_values_never_reach_a_shell(self, pytester: pytest.Pytester) -> None:
        cfg = write_config(pytester, t51_text({16: "norm_train:tool.py train ; touch PWNED"}))
        out = pytester.path / "rec.jsonl"
        pytester.runpytest("--tipc-config", str(cfg), "--tipc-dry-run", "--tipc-record", str(out))
        assert records(out)[0]["argv"][:6] == ["python", "tool.py", "train", ";", "touch", "PWNED"]  # type: ignore[index]


class TestErrors:
    def test_shifted_config_is_a_collection_error_for_that_file_only(self, pytester: pytest.Pytester) -> None:
        lines = t51_text().split("\n")
        del lines[19]
        bad = write_config(pytester, "\n".join(lines), "bad/train_infer_python.txt")
        write_config(pytester, t51_text(), "good/train_infer_python.txt")
        result = pytester.runpytest("--tipc-config", "test_tipc/configs", "--collect-only", "-q")
        out = result.stdout.str()
        assert "INTERNALERROR" not in out
        assert f"{bad}:23: expected the `===…eval_params…===` banner as row 23, found `eval:null`" in out
        assert "Fix: the banner sits at row 22" in out
        assert "test_tipc/configs/good/train_infer_python.txt::train[cpu-null-norm_train]" in out
        assert result.ret == pytest.ExitCode.INTERRUPTED

    def test_unknown_mode_for_the_layout_is_reported(self, pytester: pytest.Pytester) -> None:
        cfg = write_config(pytester, t51_text())
        result = pytester.runpytest("--tipc-config", str(cfg), "--tipc-mode", "bogus")
        assert result.ret == pytest.ExitCode.USAGE_ERROR


class TestRealRepoLayout:
    """A model repo is not a test suite: its __init__.py files stay unimported in a TIPC-only session."""

    INIT = "from pathlib import Path\nPath(__file__).with_name('IMPORTED').touch()\nfrom .missing import x\n"

    def test_a_tipc_only_session_imports_no_package(self, pytester: pytest.Pytester) -> None:
        cfg = write_config(pytester, t51_text())
        for folder in (pytester.path, pytester.path / "test_tipc", cfg.parent):
            (folder / "__init__.py").write_text(self.INIT)
        (pytester.path / "setup.py").write_text("raise SystemExit('setup.py must not run')\n")
        (cfg.parent / "test_nothing.py").write_text("def test_x():\n    pass\n")  # not collected
        result = pytester.runpytest("--tipc-config", "test_tipc/configs", "--tipc-dry-run")
        result.assert_outcomes(passed=2)
        assert not list(pytester.path.rglob("IMPORTED"))
        tree = pytester.runpytest("--tipc-config", "test_tipc/configs", "--collect-only").stdout.str()
        assert "<Package" not in tree and "<TipcDir tiny>" in tree and "test_nothing" not in tree

    def test_a_mixed_session_keeps_pytests_packages_for_python_tests(self, pytester: pytest.Pytester) -> None:
        cfg = write_config(pytester, t51_text())
        (pytester.path / "__init__.py").write_text("from pathlib import Path\nPath(__file__).with_name('IMPORTED').touch()\n")
        (pytester.path / "tests").mkdir()
        (pytester.path / "tests" / "test_unit.py").write_text("def test_unit():\n    pass\n")
        result = pytester.runpytest("tests", "--tipc-config", str(cfg), "--tipc-dry-run", "-p", "no:cacheprovider")
        result.assert_outcomes(passed=3)
        assert (pytester.path / "IMPORTED").exists()  # pytest's Package, as for any Python test
        tree = pytester.runpytest("tests", "--tipc-config", str(cfg), "--collect-only").stdout.str()
        assert "<Package" in tree and "<TipcDir" not in tree


class TestSkipHints:
    """A GPU cell's skip reason suggests a CPU selection only when the config has cells it selects."""

    def reasons(self, pytester: pytest.Pytester, gpu_list: str) -> str:
        cfg = write_config(pytester, t51_text({4: f"gpu_list:{gpu_list}", 5: "--use-gpu:True"}))
        result = pytester.runpytest("--tipc-config", str(cfg), "-m", "gpu and tipc(kind='train')", "-rs",
                                    "--tipc-gpus", "", "-p", "no:cacheprovider")
        result.assert_outcomes(skipped=1)
        return result.stdout.str()

    def test_no_hint_without_cpu_cells(self, pytester: pytest.Pytester) -> None:
        out = self.reasons(pytester, "0")
        assert "needs 1 GPU, 0 visible (--tipc-gpus is empty); run on a GPU machine" in out
        assert "-m \"not gpu\"" not in out

    def test_the_hint_when_the_config_has_cpu_cells(self, pytester: pytest.Pytester) -> None:
        out = self.reasons(pytester, "-1|0")
        assert "run on a GPU machine or select the cells that run without one with -m \"not gpu\"" in out


def test_not_gpu_selects_the_cells_that_run_without_one(pytester: pytest.Pytester) -> None:
    """`gpu` marks what needs a GPU to run: the training on card 0 and the inference of its model, not the
    two-node training (rehearsed on CPU) nor its CPU inference; -m "not gpu" is the skip hint's selection."""
    cfg = write_config(pytester, t51_text({4: "gpu_list:-1|0|127.0.0.1,127.0.0.1;0,1",
                                          5: "--use-gpu:False|True|True"}))
    result = pytester.runpytest("--tipc-config", str(cfg), "-m", "not gpu", "-p", "no:cacheprovider", "--co", "-q")
    names = sorted(line.rsplit("::", 1)[1] for line in result.stdout.lines if "::" in line)
    assert names == ["infer[cpu-null-norm_train-cpu-t1-fp32-bs1]", "infer[nodes2-gpu0_1-null-norm_train-cpu-t1-fp32-bs1]",
                     "train[cpu-null-norm_train]", "train[nodes2-gpu0_1-null-norm_train]"]


class TestDirectoryArguments:
    """`pytest test_tipc/configs` collects the configs below, as --tipc-config DIR does; other folders are pytest's."""

    def make_repo(self, pytester: pytest.Pytester) -> None:
        write_config(pytester, t51_text())
        write_config(pytester, t51_text({44: "--batch-size:1|2"}), name="other/train_infer_python.txt")
        (pytester.path / "tests").mkdir()
        (pytester.path / "tests" / "test_unit.py").write_text("def test_unit():\n    pass\n")

    @pytest.mark.parametrize(("args", "passed"), [
        (["test_tipc/configs"], 5), (["test_tipc/configs/other"], 3), (["tests", "test_tipc/configs/tiny"], 3),
        (["."], 1)])
    def test_a_folder_collects_its_configs(self, pytester: pytest.Pytester, args: list[str], passed: int) -> None:
        self.make_repo(pytester)
        result = pytester.runpytest(*args, "--tipc-dry-run", "-p", "no:cacheprovider")
        result.assert_outcomes(passed=passed)


def test_k_selects_kinds_and_trainers_as_documented(pytester: pytest.Pytester) -> None:
    """pytest's -k also matches parent names: the file name holds `train` and `infer`, so the README
    names `-k "train["` / `-k "infer["` for a kind; a trainer name selects its training and its inferences."""
    cfg = write_config(pytester, t51_text(MATRIX))

    def names(*args: str) -> list[str]:
        result = pytester.runpytest("--tipc-config", str(cfg), "-p", "no:cacheprovider", "--co", "-q", *args)
        return collected(result)

    every = names()
    assert names("-k", "train") == every  # the file name matches: every item
    assert names("-k", "train[") == [n for n in every if n.startswith("train[")] and len(names("-k", "train[")) == 4
    assert names("-k", "infer[") == [n for n in every if n.startswith("infer[")]
    pact = names("-k", "pact_train")
    assert pact and all("pact_train" in n for n in pact) and {n.split("[")[0] for n in pact} == {"train", "infer"}


def test_template_configs_writing_the_same_logs_are_warned_about(pytester: pytest.Pytester) -> None:
    """Two template-layout models with the same training cell: one warning naming both and --tipc-output;
    none when their trainings differ."""
    write_config(pytester, t51_text())
    write_config(pytester, t51_text({2: "model_name:other"}), name="other/train_infer_python.txt")
    result = pytester.runpytest("test_tipc/configs", "--tipc-dry-run", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, warnings=1)
    text = " ".join(result.stdout.str().split())
    assert ("SharedOutputWarning: test_tipc/configs/other/train_infer_python.txt and "
            "test_tipc/configs/tiny/train_infer_python.txt write the same checkpoints "
            "(the trainings of test_tipc/output/norm_train_gpus_-1_autocast_null.log)") in text
    assert "each with its own --tipc-output DIR" in text
    if importlib.util.find_spec("xdist"):  # once under xdist too (each worker collects)
        spread = pytester.runpytest_subprocess("test_tipc/configs", "--tipc-dry-run", "-p", "no:cacheprovider",
                                               "-n", "2", "-p", "xdist")
        spread.assert_outcomes(passed=4, warnings=1)
    write_config(pytester, t51_text({2: "model_name:other", 4: "gpu_list:0"}), name="other/train_infer_python.txt")
    quiet = pytester.runpytest("test_tipc/configs", "--tipc-dry-run", "-p", "no:cacheprovider")
    assert "SharedOutputWarning" not in quiet.stdout.str()

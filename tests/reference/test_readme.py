"""The README, taken at its word: options, ini names, defaults, paths and commands match the code."""

# ruff: noqa: F811 - the `repo` fixture is imported from tests.support.tiny_repo and used as an argument

from __future__ import annotations

import configparser
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from pytest_tipc.layout import relocated_log_dir
from pytest_tipc.model.cells import Plan
from pytest_tipc.reporting import progress
from pytest_tipc.verdicts.results.compare import DEFAULT_TOLERANCES
from tests.support.tiny_repo import config, repo, run  # noqa: F401 - repo: the fixture

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


def options_table() -> list[tuple[str, str, str]]:
    """``(option, ini, meaning)`` per row of the README's options table."""
    section = README.split("### Options", 1)[1].split("\n### ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))] if line.startswith("|") else []
        if len(cells) >= 3 and not set(cells[0]) <= set("-: "):
            rows.append((cells[0], cells[1], "|".join(cells[2:])))
    return rows[1:]  # the header row


def meaning(option: str) -> str:
    return next(text for cell, _, text in options_table() if cell.startswith(option))


def code_block_after(marker: str) -> str:
    text = README.split(marker, 1)[1]
    return text.split("```bash\n", 1)[1].split("\n```", 1)[0]


def main_job() -> list[str]:
    """The README's main-job pytest command, as argv after ``python -m pytest``."""
    command = code_block_after("the main job").split("&&")[-1]
    words = shlex.split(command)
    assert words[:3] == ["python", "-m", "pytest"], words
    return words[3:]


@pytest.fixture(scope="module")
def help_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    done = subprocess.run(["python", "-m", "pytest", "--help", "-p", "no:cacheprovider"], capture_output=True,
                          text=True, cwd=tmp_path_factory.mktemp("help"), timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_option_and_ini_is_documented_and_exists(help_text: str) -> None:
    documented = {name for option, _, _ in options_table() for name in re.findall(r"`(--tipc-[\w-]+)", option)}
    offered = set(re.findall(r"^\s+(--tipc-[\w-]+)", help_text, re.MULTILINE))
    assert documented == offered
    ini_names = {ini.strip("`") for _, ini, _ in options_table() if ini}
    offered_ini = set(re.findall(r"^\s+(tipc_\w+)", help_text, re.MULTILINE))
    assert ini_names <= offered_ini, ini_names - offered_ini


def test_defaults_the_readme_states(pytester: pytest.Pytester) -> None:
    cfg = pytester.parseconfig()
    assert any("`lite_train_lite_infer` (default)" in text for text in [README]) and cfg.getini("tipc_mode") == \
        "lite_train_lite_infer"
    assert "`auto` (default)" in README and cfg.getini("tipc_dialect") == "auto"
    assert cfg.getini("tipc_check_train_log") is True and "(default true)" in README
    assert "every running step shows one status line" in meaning("`--tipc-progress")
    assert f"(default {progress.TTY_INTERVAL:g})" in README and f"(default {progress.CI_INTERVAL:g}, for CI)" in README
    assert "fp32 1e-3" in README and DEFAULT_TOLERANCES["fp32"].atol == 1e-3
    assert "fp16 and int8 5e-2" in README
    assert DEFAULT_TOLERANCES["fp16"].atol == DEFAULT_TOLERANCES["int8"].atol == 5e-2


def test_extras_the_readme_names_exist() -> None:
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    extras = set(setup["options.extras_require"])
    named = set(re.findall(r"`(\w+)` \(", README.split("Extras:", 1)[1].split("\n\n", 1)[0]))
    assert named == extras
    assert "junitparser" in setup["options.extras_require"]["test"]
    assert "matplotlib" in setup["options.extras_require"]["report"]


def test_output_default_is_the_harness_layout(repo: pytest.Pytester) -> None:
    """README: the template (the bundled model's harness) writes flat into test_tipc/output/; the
    other families into test_tipc/output/<model>/<mode>/; --tipc-output DIR moves them to DIR."""
    row = meaning("`--tipc-output")
    assert "`test_tipc/output/` for the docs template" in row
    assert "`test_tipc/output/<model>/<mode>/` for OCR" in row
    cfg = config(repo)
    run(repo, cfg, "-m", "tipc(kind='train')", "--tipc-progress", "0").assert_outcomes(passed=1)
    assert (repo.path / "test_tipc" / "output" / "norm_train_gpus_-1_autocast_null.log").is_file()
    ocr = Plan("ocr", "lite_train_lite_infer", "m", "./test_tipc/output/m/lite_train_lite_infer")
    assert relocated_log_dir(ocr, Path("/d")) == Path("/d/m/lite_train_lite_infer")
    template = Plan("template", "lite_train_lite_infer", "m", "./test_tipc/output")
    assert relocated_log_dir(template, Path("/d")) == Path("/d")


def test_main_job_writes_only_into_ignored_places() -> None:
    args = main_job()
    report = args[args.index("--tipc-report") + 1]
    assert report != "docs/certification.md"
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(["git", "check-ignore", "-q", report], cwd=REPO, timeout=30)
    assert ignored.returncode == 0, f"{report} is not ignored by git"
    # the committed example has its own documented command, and exists
    assert "--tipc-report docs/certification.md`" in README and (REPO / "docs" / "certification.md").is_file()

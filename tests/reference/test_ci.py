"""``.ci/run`` against the README and setup.cfg: it runs the README's test command in a venv of its own,
the suite again in another order, then on the lowest pytest that setup.cfg allows, three pytest-randomly
seeds in all. (The proof that the range works is CI running them; these tests keep the three files saying
the same thing.)"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CI = (REPO / ".ci" / "run").read_text()


def readme_test_command() -> str:
    text = (REPO / "README.md").read_text().split("Run the plugin's test suite", 1)[1]
    return text.split("```bash\n", 1)[1].split("\n```", 1)[0].strip()


def lowest_pytest() -> tuple[int, ...]:
    """The lower bound of ``pytest>=X.Y`` in setup.cfg's install_requires."""
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    bounds = re.findall(r"^pytest>=([\d.]+)$", cfg["options"]["install_requires"], re.MULTILINE)
    assert len(bounds) == 1, cfg["options"]["install_requires"]
    return tuple(int(part) for part in bounds[0].split("."))


def test_it_runs_the_readme_test_command_in_a_venv_of_its_own() -> None:
    command = readme_test_command()
    lines = [line.split(" || ")[0] for line in CI.splitlines()]
    assert command in lines, f"{command!r} is not a line of .ci/run"
    venv = next(i for i, line in enumerate(lines) if re.search(r"-m venv \"\$venv\"$", line))
    assert "--system-site-packages" not in lines[venv]  # nothing installed by hand counts
    activate = next(i for i, line in enumerate(lines) if 'PATH="$venv/bin:$PATH"' in line)
    assert venv < activate < lines.index(command)


def test_it_runs_the_suite_again_on_the_lowest_pytest_setup_cfg_allows() -> None:
    pinned = re.search(r"^LOWEST_PYTEST=([\d.]+)\b", CI, re.MULTILINE)
    assert pinned, "no LOWEST_PYTEST= in .ci/run"
    version = tuple(int(part) for part in pinned.group(1).split("."))
    lowest = lowest_pytest()
    assert version[:len(lowest)] == lowest, f".ci/run pins pytest {pinned.group(1)}, setup.cfg allows pytest>={lowest}"
    after = CI.split('"pytest==$LOWEST_PYTEST"', 1)
    assert len(after) == 2 and "python -m pytest -n 2" in after[1].splitlines()[0]
    # every run decides the job's exit status
    assert CI.rstrip().splitlines()[-1] == '[ "$status" -eq 0 ] && [ "$again" -eq 0 ] && [ "$lowest" -eq 0 ]'


def test_the_suite_runs_in_random_order() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    assert "no:randomly" not in cfg["tool:pytest"]["addopts"]
    assert "pytest-randomly" in cfg["options.extras_require"]["test"].split()


def test_it_runs_three_seeds_and_echoes_each() -> None:
    lines = CI.splitlines()
    assert sum(line.strip().startswith('echo "ci: seed ') for line in lines) == 3
    # the README's command takes pytest-randomly's own seed, read back from the header it prints
    assert "--randomly-seed" not in readme_test_command()
    assert "s/^Using --randomly-seed=" in CI
    # the other two runs name theirs, each one none of the runs before used
    seeded = [line for line in lines if line.startswith("python -m ") and '--randomly-seed="$seed"' in line]
    assert len(seeded) == 2 and "pytest==$LOWEST_PYTEST" in seeded[1], seeded
    assert CI.count("seed=$(fresh_seed)") == 2


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_it_is_a_valid_bash_script() -> None:
    done = subprocess.run(["bash", "-n", str(REPO / ".ci" / "run")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

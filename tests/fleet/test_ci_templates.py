"""The CI templates of docs/ci pass their linters: actionlint for the GitHub workflow,
check-jsonschema's built-in GitLab CI schema for the GitLab file, ``bash -n`` for the Slurm scripts;
and each runs the shard and merge commands this plugin documents."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CI = Path(__file__).resolve().parents[2] / "docs" / "ci"


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]' installs it)")
    return found


def test_github_workflow_passes_actionlint() -> None:
    done = subprocess.run([tool("actionlint"), "-config-file", str(CI / "actionlint.yaml"),
                           str(CI / "github-actions.yml")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_does_catch_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text((CI / "github-actions.yml").read_text().replace("needs: shard", "needs: shards"))
    done = subprocess.run([tool("actionlint"), "-config-file", str(CI / "actionlint.yaml"), str(broken)],
                          capture_output=True, text=True)
    assert done.returncode != 0 and "shards" in done.stdout


def test_gitlab_file_passes_the_gitlab_ci_schema(tmp_path: Path) -> None:
    checker = tool("check-jsonschema")
    good = subprocess.run([checker, "--builtin-schema", "vendor.gitlab-ci", str(CI / "gitlab-ci.yml")],
                          capture_output=True, text=True)
    assert good.returncode == 0, good.stdout + good.stderr
    broken = tmp_path / "gitlab-ci.yml"
    broken.write_text((CI / "gitlab-ci.yml").read_text().replace("parallel: 4", "parallel: many"))
    bad = subprocess.run([checker, "--builtin-schema", "vendor.gitlab-ci", str(broken)], capture_output=True, text=True)
    assert bad.returncode != 0


@pytest.mark.parametrize("script", sorted(p.name for p in (CI / "slurm").iterdir()))
def test_slurm_scripts_parse(script: str) -> None:
    done = subprocess.run(["bash", "-n", str(CI / "slurm" / script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_templates_shard_and_merge_as_documented() -> None:
    github = (CI / "github-actions.yml").read_text()
    gitlab = (CI / "gitlab-ci.yml").read_text()
    slurm = (CI / "slurm" / "tipc-array.sbatch").read_text() + (CI / "slurm" / "submit.sh").read_text()
    assert '--tipc-shard "${{ matrix.shard }}/$SHARDS"' in github and "fail-fast: false" in github
    assert "--tipc-shard auto" in gitlab and "parallel: 4" in gitlab
    assert "--tipc-shard auto" in slurm and "--dependency=\"afterany:" in slurm
    for text in (github, gitlab, (CI / "slurm" / "tipc-merge.sbatch").read_text()):
        assert "python -m pytest_tipc merge" in text or "-m pytest_tipc merge" in text

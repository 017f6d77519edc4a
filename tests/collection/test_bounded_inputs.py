"""Every input bounded and named: a ``*ptq*`` file is never read past the 1 MB limit
to decide whether it is a PTQ config, and a control character in a config value (NUL, a lone
carriage return, escape) is a collection error at its ``file:line`` with the fix."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_tipc.model.config import ConfigError, parse_text
from tests.support.configs import t51_text

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sparse files")


def collect(base: Path, *args: str, data_limit: int | None = None) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if data_limit is not None:
            resource.setrlimit(resource.RLIMIT_DATA, (data_limit, data_limit))

    argv = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args]
    return subprocess.run(argv, cwd=base, capture_output=True, text=True, timeout=120, preexec_fn=limit)


def test_a_huge_ptq_named_file_is_refused_without_being_read(tmp_path: Path) -> None:
    folder = tmp_path / "test_tipc" / "configs" / "m"
    folder.mkdir(parents=True)
    (folder / "train_infer_python.txt").write_text(t51_text())
    huge = folder / "train_ptq_infer_python.txt"
    with open(huge, "wb") as fh:  # 2.2 GB, sparse: reading it whole took 2.2 GB and tens of seconds
        fh.truncate(2_200_000_000)
    result = collect(tmp_path, "--tipc-config", "test_tipc/configs", data_limit=1 << 30)  # less than the file
    text = result.stdout + result.stderr
    assert f"{huge}: expected a TIPC config (a regular text file of at most 1 MB), found 2,200,000,000 bytes" in text
    assert "train[cpu-null-norm_train]" in text  # the config beside it still collects
    assert "MemoryError" not in text and "INTERNALERROR" not in text


@pytest.mark.parametrize(("char", "shown"), [("\0", r"'\x00'"), ("\r", r"'\r'"), ("\x1b", r"'\x1b'"),
                                             ("\x7f", r"'\x7f'")], ids=["nul", "lone-cr", "escape", "del"])
def test_a_control_character_in_a_value_is_a_collection_error_at_its_line(tmp_path: Path, char: str,
                                                                          shown: str) -> None:
    cfg = tmp_path / "test_tipc" / "configs" / "m" / "train_infer_python.txt"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(t51_text({6: f"--autocast:null{char}x"}), newline="")
    result = collect(tmp_path, "--tipc-config", str(cfg))
    text = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.INTERRUPTED, text
    assert (f"{cfg}:6: expected text without control characters (config values become command-line words and "
            f"file names), found {shown} at column 16") in text
    assert "Fix: delete the character" in text
    assert "embedded null byte" not in text and "Traceback" not in text


def test_tabs_and_crlf_line_ends_are_text() -> None:
    config = parse_text(t51_text({6: "--autocast:\tnull"}).replace("\n", "\r\n"), "c.txt")
    assert config.line(6).text == "--autocast:\tnull"
    with pytest.raises(ConfigError, match=r"c.txt:2: .* found '\\x00' at column 1"):
        parse_text("a:b\n\0:c\n", "c.txt")

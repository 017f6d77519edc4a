"""Caches that cannot lie: byte flips of every cache file (plan cache entries, prepare stamps,
train-once states) never change the items, never crash: a corrupt entry is ignored and rebuilt."""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

import pytest

from pytest_tipc import _fs
from pytest_tipc.execution.once import OnceState, run_once, state_path
from pytest_tipc.planning import cache as plancache
from tests.support.configs import t51_text
from tests.support.tool_script import install

pytest_plugins = ["pytester"]
MATRIX = {4: "gpu_list:-1|0", 5: "--use-gpu:False|True", 42: "--enable-mkldnn:False|True"}
PLAN_FLIPS = 40
STAMP_FLIPS = 8
PREP = "import os, sys\nos.makedirs('lite_data', exist_ok=True)\nopen('prep_count.txt', 'a').write('x')\n"


@pytest.fixture
def repo(pytester: pytest.Pytester) -> pytest.Pytester:
    install(pytester.path)
    (pytester.path / "images").mkdir()
    (pytester.path / "prep.py").write_text(PREP)
    pytester.makeini("[pytest]\ntipc_prepare_command = python prep.py {config} {mode}\n")
    cfg = pytester.path / "test_tipc" / "configs" / "tiny" / "train_infer_python.txt"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(t51_text(MATRIX))
    return pytester


def collect_ids(repo: pytest.Pytester) -> tuple[list[str], str]:
    result = repo.runpytest("--tipc-config", "test_tipc/configs", "--collect-only", "-q")
    return [line for line in result.stdout.lines if "::" in line], result.stdout.str()


def flip(data: bytes, rng: random.Random) -> bytes:
    index = rng.randrange(len(data))
    return data[:index] + bytes([data[index] ^ rng.randrange(1, 256)]) + data[index + 1:]


def test_byte_flips_of_a_plan_cache_entry_never_change_the_items(repo: pytest.Pytester) -> None:
    expected, _ = collect_ids(repo)
    [entry] = (repo.path / ".pytest_cache" / "d" / plancache.DIRECTORY).glob("*.json")
    original = entry.read_bytes()
    rng = random.Random(13)
    survived = 0
    for _ in range(PLAN_FLIPS):
        entry.write_bytes(flip(original, rng))
        ids, text = collect_ids(repo)
        assert ids == expected and "Traceback" not in text and "INTERNALERROR" not in text, text
        survived += 1
        assert _fs.unseal(entry.read_bytes())  # rebuilt: a valid entry again
    assert survived == PLAN_FLIPS and len(expected) == 6


@pytest.mark.parametrize("edit", ["string-lineno", "dropped-cells", "not-a-list", "empty-object"])
def test_hand_edited_entries_are_rebuilt(repo: pytest.Pytester, edit: str) -> None:
    expected, _ = collect_ids(repo)
    [entry] = (repo.path / ".pytest_cache" / "d" / plancache.DIRECTORY).glob("*.json")
    value = json.loads(entry.read_bytes())
    body = value["body"]
    if edit == "string-lineno":  # resealed, so only the schema can tell
        body["cells"][0][4] = "x"
        entry.write_text(_fs.seal(body))
    elif edit == "dropped-cells":  # not resealed: the checksum tells
        body["cells"] = body["cells"][:1]
        entry.write_text(json.dumps(value))
    elif edit == "not-a-list":
        body["cells"] = {"a": 1}
        entry.write_text(_fs.seal(body))
    else:
        entry.write_text("{}")
    ids, text = collect_ids(repo)
    assert ids == expected and "INTERNALERROR" not in text and "Traceback" not in text


def test_byte_flips_of_a_prepare_stamp_never_fail_the_items(repo: pytest.Pytester) -> None:
    def train() -> pytest.RunResult:
        return repo.runpytest("--tipc-config", "test_tipc/configs", "--tipc-python", sys.executable,
                              "-m", "tipc(kind='train', gpus='-1')")

    train().assert_outcomes(passed=1, deselected=5)
    [stamp] = (repo.path / ".pytest_cache" / "d" / "tipc" / "prepare").glob("*.json")
    original = stamp.read_bytes()
    rng = random.Random(8)
    cases = [b"[]", b"", b"{}", *(flip(original, rng) for _ in range(STAMP_FLIPS))]
    for data in cases:
        stamp.write_bytes(data)
        result = train()
        result.assert_outcomes(passed=1, deselected=5)
        assert "INTERNALERROR" not in result.stdout.str()
    runs = (repo.path / "prep_count.txt").read_text()
    assert 2 <= len(runs) <= len(cases) + 1  # a corrupt stamp prepares again; it never fails the items


def test_byte_flips_of_a_train_once_state_never_crash(tmp_path: Path) -> None:
    produced = OnceState("", True, durations={"train": 1.5}, data={"results": [], "devices": []})
    run_once(tmp_path, "k", lambda: produced)
    path = state_path(tmp_path, "k")
    original = path.read_bytes()
    reran = 0
    for index in range(len(original)):
        for mask in (0x01, 0x20):
            path.write_bytes(original[:index] + bytes([original[index] ^ mask]) + original[index + 1:])
            calls: list[int] = []

            def producer(calls: list[int] = calls) -> OnceState:
                calls.append(1)
                return produced

            state = run_once(tmp_path, "k", producer)
            assert state.ok and state.durations == {"train": 1.5} and state.key == "k"
            reran += len(calls)
    assert reran == 2 * len(original)  # every flip was noticed and the producer ran again


def test_a_state_of_another_key_or_shape_is_not_trusted(tmp_path: Path) -> None:
    path = state_path(tmp_path, "k")
    path.parent.mkdir(parents=True)
    path.write_text(_fs.seal({"key": "other", "ok": False}))
    assert run_once(tmp_path, "k", lambda: OnceState("", True)).ok


# ---- issue 16 (8): a cache entry is read only when it is a regular file of bounded size ----

SPECIALS = ("fifo", "dev-zero-link", "dir-link")


def make_special(path: Path, kind: str) -> None:
    """A FIFO (a plain read blocks for ever), a link to /dev/zero (never ends) or to a directory."""
    path.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero" if kind == "dev-zero-link" else "/")


@pytest.mark.parametrize("kind", SPECIALS)
def test_a_special_plan_cache_entry_is_rebuilt_without_hanging(repo: pytest.Pytester, kind: str) -> None:
    expected, _ = collect_ids(repo)
    [entry] = (repo.path / ".pytest_cache" / "d" / plancache.DIRECTORY).glob("*.json")
    make_special(entry, kind)
    result = repo.runpytest_subprocess("--tipc-config", "test_tipc/configs", "--collect-only", "-q", timeout=60)
    assert [line for line in result.stdout.lines if "::" in line] == expected
    assert entry.is_file() and not entry.is_symlink()  # rebuilt in its place


@pytest.mark.parametrize("kind", SPECIALS)
def test_a_special_prepare_stamp_prepares_again_without_hanging(repo: pytest.Pytester, kind: str) -> None:
    argv = ("--tipc-config", "test_tipc/configs", "--tipc-python", sys.executable, "-m", "tipc(kind='train', gpus='-1')")
    repo.runpytest(*argv).assert_outcomes(passed=1, deselected=5)
    [stamp] = (repo.path / ".pytest_cache" / "d" / "tipc" / "prepare").glob("*.json")
    make_special(stamp, kind)
    repo.runpytest_subprocess(*argv, timeout=60).assert_outcomes(passed=1, deselected=5)
    assert (repo.path / "prep_count.txt").read_text() == "xx"  # the stamp was not trusted: prepared again


@pytest.mark.parametrize("kind", SPECIALS)
def test_a_special_train_once_state_runs_the_producer(tmp_path: Path, kind: str) -> None:
    path = state_path(tmp_path, "k")
    path.parent.mkdir(parents=True)
    make_special(path, kind)
    assert run_once(tmp_path, "k", lambda: OnceState("", True, durations={"train": 1.0})).durations == {"train": 1.0}


def test_read_regular_bounds_size_and_kind(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * 11)
    with pytest.raises(OSError, match="11 bytes, over 10"):
        _fs.read_regular(big, 10)
    assert _fs.read_regular(big, 11) == b"x" * 11
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(OSError, match="a FIFO, not a regular file"):
        _fs.read_regular(tmp_path / "fifo", 10)

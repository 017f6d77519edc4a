"""A seeded config fuzzer: CASES mutated configs collected in one session, in under 60 s. No
traceback, no hang, and every config either yields items or is a collection error naming it."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

from tests.support.configs import T51_ROWS

SEED = 2026
CASES = 1000
VALUES = ["", "..", "../../../../x", "a" * 300, "null", "True|False", "{a}", "$(touch PWNED)", "; touch PWNED",
          "|||", "a:b:c", "\t", "日本語", "-1", "0,1", "127.0.0.1,127.0.0.2;0,1", "x/../../y", "\\", "'\"",
          "lite_train_lite_infer=1|whole_train_whole_infer=3", "amp|fp16|null", "-" * 30, "%s%n", "1e309"]


def mutate(rng: random.Random) -> bytes:
    rows = [T51_ROWS[i] for i in sorted(T51_ROWS)]
    for _ in range(rng.randint(1, 3)):
        if not rows:
            rows = [rng.choice(VALUES)]
        op = rng.randrange(7)
        i = rng.randrange(len(rows))
        if op == 0:
            key = rows[i].split(":", 1)[0]
            rows[i] = f"{key}:{rng.choice(VALUES)}"
        elif op == 1:
            rows[i] = rng.choice(VALUES)
        elif op == 2 and len(rows) > 1:
            del rows[i]
        elif op == 3:
            rows.insert(i, rows[rng.randrange(len(rows))])
        elif op == 4:
            j = rng.randrange(len(rows))
            rows[i], rows[j] = rows[j], rows[i]
        elif op == 5:
            rows = rows[:max(i, 1)]
        else:
            rows[i] = rows[i] + rng.choice(VALUES)
    data = ("\n".join(rows) + "\n").encode()
    if rng.random() < 0.05:  # not UTF-8
        at = rng.randrange(len(data) + 1)
        data = data[:at] + bytes([0xff, 0xfe]) + data[at:]
    return data


def test_fuzzed_configs_never_crash_collection(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    names = []
    for case in range(CASES):
        path = tmp_path / "test_tipc" / "configs" / f"c{case:03d}" / "train_infer_python.txt"
        path.parent.mkdir(parents=True)
        path.write_bytes(mutate(rng))
        names.append(f"test_tipc/configs/c{case:03d}/train_infer_python.txt")
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "pytest", "--tipc-config", "test_tipc/configs", "--collect-only",
                             "-q", "-p", "no:cacheprovider"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)
    elapsed = time.monotonic() - started
    text = result.stdout + result.stderr
    assert "Traceback" not in text and "INTERNALERROR" not in text, text[-3000:]
    collected = {line.split("::")[0] for line in result.stdout.splitlines() if "::" in line}
    failed = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("ERROR test_tipc/")}
    assert collected | failed == set(names) and not collected & failed
    for name in sorted(failed):  # each error names its file (file:line where it has one)
        block = text.split(f"ERROR collecting {name}", 1)[1].split("ERROR collecting", 1)[0]
        assert f"{tmp_path / name}" in block and "Fix:" in block, block
    assert f"{len(failed)} error" in text
    assert 0 < len(failed) < CASES  # the fuzzer exercises both sides
    assert elapsed < 60
    assert not (tmp_path / "PWNED").exists()

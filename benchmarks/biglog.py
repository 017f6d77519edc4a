"""Time and peak RSS of the training-log check and the stored-results comparison on a big log.

    python benchmarks/biglog.py [--mb 200]

Writes a log of ``--mb`` MB (PaddleSeg-style training lines, with a few result lines) in a
temporary directory, then times ``wc -l`` on it and each check in a fresh subprocess (so each
peak RSS is its own). Targets (issue 13): each check ≤ 5× ``wc -l`` and ≤ 100 MB peak RSS.
It also prints the floor: the time Python takes to read the file in the same chunks and count its
lines, with no check at all (GNU ``wc -l`` counts with SIMD; CPython does not).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LINE = ("2024-01-01 00:00:00 [INFO]\t[TRAIN] epoch: 1, iter: {i}/100000, loss: 2.1{d}, lr: 0.0098, "
        "batch_cost: 0.2345, reader_cost: 0.01234, ips: 8.5288 samples/sec | ETA 00:00:09\n")
CHILD = r"""
import json, resource, sys, time
from pathlib import Path
kind, log, results = sys.argv[1], sys.argv[2], sys.argv[3]
start = time.perf_counter()
if kind == "trainlog":
    from pytest_tipc.verdicts.trainlog import check_train_log
    s = check_train_log(log)
    out = {"iterations": s.iterations, "ok": s.ok}
else:
    from pytest_tipc.verdicts.results.compare import check_results
    v = check_results(log_path=log, results_dir=results, model="big", precision="fp32")
    out = {"passed": v.passed, "compared": len(v.comparison.rows) if v.comparison else 0}
out["seconds"] = time.perf_counter() - start
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""

FLOOR = r"""
import sys, time
from pytest_tipc import _fs
start = time.perf_counter()
lines = sum(chunk.count("\n") for chunk in _fs.line_chunks(sys.argv[1]))
print(time.perf_counter() - start)
"""


def write_log(path: Path, megabytes: int, images: int) -> None:
    target = megabytes << 20
    with open(path, "w") as fh:
        written, i = 0, 0
        block = "".join(LINE.format(i=j, d=j % 10) for j in range(1000))
        while written < target:
            fh.write(block)
            written += len(block)
            i += 1000
        for n in range(images):
            fh.write(f"img{n}.jpg\t{json.dumps({'class_ids': [n % 7], 'scores': [0.5]})}\n")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--images", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp, "big.log")
        write_log(log, args.mb, args.images)
        results = Path(tmp, "results")
        results.mkdir()
        (results / "python_big_results_fp32.txt").write_text("".join(
            f"./images/img{n}.jpg\t{json.dumps({'class_ids': [n % 7], 'scores': [0.5]})}\n"
            for n in range(args.images)))
        size = log.stat().st_size / (1 << 20)
        subprocess.run(["wc", "-l", str(log)], capture_output=True, check=True)  # warm the page cache
        start = time.perf_counter()
        subprocess.run(["wc", "-l", str(log)], capture_output=True, check=True)
        wc = time.perf_counter() - start
        print(f"log: {size:.0f} MB; wc -l: {wc:.3f} s")
        proc = subprocess.run([sys.executable, "-c", FLOOR, str(log)], capture_output=True, text=True, check=True)
        floor = float(proc.stdout)
        print(f"floor: {floor:.3f} s ({floor / wc:.1f}x wc -l): Python reading the file in the checks' "
              f"chunks and counting its lines, nothing else")
        for kind in ("trainlog", "results"):
            proc = subprocess.run([sys.executable, "-c", CHILD, kind, str(log), str(results)],
                                  capture_output=True, text=True, check=True)
            data = json.loads(proc.stdout)
            print(f"{kind}: {data['seconds']:.3f} s ({data['seconds'] / wc:.1f}x wc -l, "
                  f"{data['seconds'] / floor:.1f}x the floor), "
                  f"peak RSS {data['peak_rss_mb']:.0f} MB; {data}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

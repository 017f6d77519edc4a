"""Time and peak RSS of every check that reads a step log, on big logs of either kind.

    python benchmarks/biglog.py [--mb 1024] [--cases trainlog,trainlog-cr,autolog,autolog-cr,results]

Writes logs of ``--mb`` MB in a temporary directory: a training log (PaddleSeg-style lines, a few
result lines at the end), the same with ``\\r`` as its only line end (tqdm style), and an inference
log (result lines, then an AutoLog block) in both kinds. Then times ``wc -l`` on each and runs each
check in a fresh subprocess, so each peak RSS is its own. Targets: issue 13, each check ≤ 5×
``wc -l``; issue 16, ≤ 150 MB peak RSS for a 1 GB log of either kind. It also prints the floor:
the time Python takes to read the file in the same chunks and count its lines, with no check at all
(GNU ``wc -l`` counts with SIMD; CPython does not).
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
        "batch_cost: 0.2345, reader_cost: 0.01234, ips: 8.5288 samples/sec | ETA 00:00:09")
RESULT = "[2024/01/01 00:00:00] ppocr INFO: result: img{i}.jpg\t[{{\"transcription\": \"x\", \"score\": 0.9{d}}}]"
AUTOLOG = """[2024/01/01 00:00:01] ppocr INFO: ---------------------- Env info ----------------------
[2024/01/01 00:00:01] ppocr INFO:  paddle_version: 3.3.1
[2024/01/01 00:00:01] ppocr INFO: ----------------------- Conf info -----------------------
[2024/01/01 00:00:01] ppocr INFO:  runtime_device: cpu
[2024/01/01 00:00:01] ppocr INFO: ----------------------- Data info -----------------------
[2024/01/01 00:00:01] ppocr INFO:  batch_size: 1
[2024/01/01 00:00:01] ppocr INFO: ----------------------- Perf info -----------------------
[2024/01/01 00:00:01] ppocr INFO:  total time spent(s): 4.2386
[2024/01/01 00:00:01] ppocr INFO:  preprocess_time(ms): 33.7, inference_time(ms): 50.7, postprocess_time(ms): 0.2
"""
CHILD = r"""
import json, resource, sys, time
from pathlib import Path
kind, log, results = sys.argv[1], sys.argv[2], sys.argv[3]
start = time.perf_counter()
if kind == "trainlog":
    from pytest_tipc.verdicts.trainlog import check_train_log
    s = check_train_log(log)
    out = {"iterations": s.iterations, "logged_steps": getattr(s, "logged_steps", None), "ok": s.ok}
elif kind == "autolog":
    from pytest_tipc.verdicts.autolog_parse import parse_autolog_file
    m = parse_autolog_file(log)
    out = {"inference_ms": m and m["inference_ms"]}
else:
    from pytest_tipc.verdicts.results.compare import check_results
    v = check_results(log_path=log, results_dir=results, model="big", precision="fp32")
    out = {"passed": v.passed, "compared": len(v.comparison.rows) if v.comparison else 0}
out["seconds"] = time.perf_counter() - start
out["peak_rss_mb"] = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')) / 1024  # VmHWM: ru_maxrss survives exec
print(json.dumps(out))
"""

FLOOR = r"""
import sys, time
from pytest_tipc import _fs
start = time.perf_counter()
lines = sum(chunk.count("\n") for chunk in _fs.line_chunks(sys.argv[1]))
print(time.perf_counter() - start)
"""

# case -> (check, log kind, line end)
CASES = {"trainlog": ("trainlog", "train", "\n"), "trainlog-cr": ("trainlog", "train", "\r"),
         "autolog": ("autolog", "infer", "\n"), "autolog-cr": ("autolog", "infer", "\r"),
         "results": ("results", "train", "\n")}


def write_log(path: Path, megabytes: int, images: int, kind: str, end: str) -> None:
    """``megabytes`` of training (or inference result) lines ending with ``end``, then the
    stored-results lines (training) or an AutoLog block (inference)."""
    target = megabytes << 20
    line = LINE if kind == "train" else RESULT
    with open(path, "w", newline="") as fh:
        written = 0
        block = "".join(line.format(i=j, d=j % 10) + end for j in range(1000))
        while written < target:
            fh.write(block)
            written += len(block)
        if kind == "train":
            for n in range(images):
                fh.write(f"img{n}.jpg\t{json.dumps({'class_ids': [n % 7], 'scores': [0.5]})}\n")
        else:
            fh.write(AUTOLOG.replace("\n", end))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp, "results")
        results.mkdir()
        (results / "python_big_results_fp32.txt").write_text("".join(
            f"./images/img{n}.jpg\t{json.dumps({'class_ids': [n % 7], 'scores': [0.5]})}\n"
            for n in range(args.images)))
        rows = []
        for case in args.cases.split(","):
            check, kind, end = CASES[case]
            log = Path(tmp, f"{kind}-{'cr' if end == chr(13) else 'lf'}.log")
            if not log.exists():
                write_log(log, args.mb, args.images, kind, end)
            subprocess.run(["wc", "-l", str(log)], capture_output=True, check=True)  # warm the page cache
            start = time.perf_counter()
            subprocess.run(["wc", "-l", str(log)], capture_output=True, check=True)
            wc = time.perf_counter() - start
            floor = float(subprocess.run([sys.executable, "-c", FLOOR, str(log)], capture_output=True,
                                         text=True, check=True).stdout)
            data = json.loads(subprocess.run([sys.executable, "-c", CHILD, check, str(log), str(results)],
                                             capture_output=True, text=True, check=True).stdout)
            rows.append((case, log.stat().st_size >> 20, data["seconds"], wc, floor, data["peak_rss_mb"], data))
            print(f"{case}: {data}", file=sys.stderr)
        print(f"{'case':<12} {'MB':>5} {'seconds':>8} {'x wc -l':>8} {'x floor':>8} {'peak RSS MB':>12}")
        for case, size, seconds, wc, floor, rss, _ in rows:
            print(f"{case:<12} {size:>5} {seconds:>8.2f} {seconds / wc:>8.1f} {seconds / floor:>8.1f} {rss:>12.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A stand-in for a model repo's train/export/infer scripts, used by the real-run tests.

    tool.py train  --output-dir=DIR ...   prints spec training-log lines, writes DIR/latest.pdparams
    tool.py export --pretrained=CKPT --save-inference-dir=DIR   writes DIR/inference.json + .pdiparams
    tool.py infer  --model-dir=DIR --img-dir=DIR ...   prints `<image>\\t<json>` lines and an AutoLog block
    tool.py eval   prints an `[Eval] … acc_top1: …` metric line

Every call appends its stage to ./counts.txt. Environment switches: TOOL_FAIL=<stage> exits 3,
TOOL_FAIL_ONCE=<stage> exits 3 on its first call only (a flaky step), TOOL_HANG=<stage> sleeps (and leaves a child sleeping too), TOOL_SCORE=<x> changes the results,
TOOL_SLEEP=<seconds> spreads training over that many seconds (a slow step), TOOL_REPEAT=<n> prints
the failure line n times before failing, TOOL_COLOR=1 a coloured line before it.
"""

from __future__ import annotations

from pathlib import Path

TEXT = '''import json, os, subprocess, sys, time
from pathlib import Path

def opts(argv):
    out = {}
    for arg in argv:
        if arg.startswith("--") and "=" in arg:
            key, _, value = arg[2:].partition("=")
            out[key] = value
    return out

stage, args = sys.argv[1], opts(sys.argv[2:])
with open("counts.txt", "a") as fh:
    fh.write(stage + "\\n")
if os.environ.get("TOOL_HANG") == stage:
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    time.sleep(600)
if os.environ.get("TOOL_FAIL_ONCE") == stage and not os.path.exists(".failed-once-" + stage):
    open(".failed-once-" + stage, "w").close()  # the first call of the session fails, later ones pass
    print("Traceback: simulated flaky failure in " + stage, flush=True)
    sys.exit(3)
if os.environ.get("TOOL_FAIL") == stage:
    if os.environ.get("TOOL_COLOR"):
        print("\\x1b[33mW1206 a coloured warning\\x1b[0m", flush=True)
    for _ in range(int(os.environ.get("TOOL_REPEAT", "0"))):
        print("error: unrecognized arguments: --bad-flag", flush=True)
    print("Traceback: simulated failure in " + stage, flush=True)
    sys.exit(3)
if stage == "train":
    out = Path(args["output-dir"])
    out.mkdir(parents=True, exist_ok=True)
    for it in range(3):
        time.sleep(float(os.environ.get("TOOL_SLEEP", "0")) / 3)
        loss = 1.0 / (it + 1)
        print(f"[Epoch 0, iter: {it}] loss: {loss:.5f}, avg_reader_cost: 0.00100 sec, "
              f"avg_batch_cost: 0.01000 sec, avg_samples: 2.0, avg_ips: 200.00000 images/sec", flush=True)
    (out / "latest.pdparams").write_bytes(b"weights")
elif stage == "eval":  # the metric line the bundled reference_model prints (verdicts/evidence.py)
    print("[Eval] loss: 0.50000, acc_top1: 0.50000, acc_top5: 0.90000, samples: 2", flush=True)
elif stage == "export":
    out = Path(args["save-inference-dir"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "inference.json").write_text("{}")
    (out / "inference.pdiparams").write_bytes(b"params")
elif stage == "infer":
    model = Path(args["model-dir"])
    assert (model / "inference.json").exists(), f"no model in {model}"
    score = float(os.environ.get("TOOL_SCORE", "0.5"))
    for name in ("img1.jpg", "img2.jpg"):
        print(name + "\\t" + json.dumps({"class_ids": [1, 0], "scores": [score, round(1 - score, 5)]}))
    # the stand-in model has no Paddle (its AutoLog block says None): importing it would cost each step seconds
    sys.modules["paddle"] = None  # type: ignore[assignment]
    from tipc_autolog.logger import TipcAutoLogger
    log = TipcAutoLogger(model_name="tiny", model_precision=args.get("precision", "fp32"),
                         batch_size=int(args.get("batch-size", 1)), data_shape="dynamic",
                         inference_config={"use_gpu": False, "ir_optim": True, "tensorrt_engine_enabled": False,
                                           "mkldnn_enabled": args.get("enable-mkldnn") == "True",
                                           "cpu_math_library_num_threads": int(args.get("cpu-threads", 1))},
                         gpu_ids=None, warmup=0)
    for _ in range(2):
        log.times.start(); log.times.stamp(); log.times.stamp(); log.times.end(stamp=True)
    log.report()
'''


def install(directory: Path) -> Path:
    path = directory / "tool.py"
    path.write_text(TEXT)
    return path

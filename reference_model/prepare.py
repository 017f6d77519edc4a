"""Stage data for a TIPC run (what upstream ``test_tipc/prepare.sh`` does with wget/tar).

    python reference_model/prepare.py [<config>] [<mode>] [--dest DIR]

Extracts the committed ``test_images/lite_data.tar`` to ``./lite_data`` (the configs' ``--data-path``)
for every mode; the whole modes use the same set (there is no larger one to download). Checks that
the committed pretrained weights and demo images that ``whole_infer`` uses are present. In
``paddle2onnx_infer`` mode it also exports the pretrained weights to the config's ``--model_dir``
(upstream downloads an inference model there).

Idempotent and safe to run concurrently (by hand, or beside another session; within one session the
plugin runs one preparation at a time per repo): the extraction holds an exclusive lock on
``.<dest>.lock`` beside ``dest``, so one run extracts and the others wait and find its stamp. A
finished extraction carries a stamp with the tar's SHA-256 and is reused; otherwise the tar is
extracted into a temporary sibling directory that is renamed into place. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
LITE_TAR = REPO_ROOT / "test_images" / "lite_data.tar"
DEMO_DIR = REPO_ROOT / "test_images" / "demo"
PRETRAINED = (
    REPO_ROOT / "test_tipc" / "pretrained" / "mobilenet_v3_small" / "mobilenet_v3_small_pretrained.pdparams",
    REPO_ROOT / "test_tipc" / "pretrained" / "mobilenet_v3_small_pact" / "mobilenet_v3_small_pact_pretrained.pdparams",
)
MODES = ("lite_train_lite_infer", "lite_train_whole_infer", "whole_train_whole_infer", "whole_infer",
         "klquant_whole_infer", "paddle2onnx_infer", "benchmark_train")
ONNX_MODEL_DIR = "./inference/mobilenet_v3_small_infer/"  # the paddle2onnx config's --model_dir
STAMP = ".lite_data.sha256"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def extract_lite_data(dest: Path, tar_path: Path = LITE_TAR) -> Path:
    """Make ``dest`` hold the tar's ``lite_data`` tree; return ``dest``."""
    if not tar_path.is_file():
        raise FileNotFoundError(f"{tar_path} is missing (regenerate it: python reference_model/make_lite_data.py)")
    digest = sha256(tar_path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest.with_name(f".{dest.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        stamp = dest / STAMP
        if stamp.is_file() and stamp.read_text().strip() == digest:
            print(f"{dest} is up to date ({tar_path.name} sha256 {digest[:12]})")
            return dest
        _extract(tar_path, dest, digest)
    n_train = len((dest / "train_list.txt").read_text().splitlines())
    n_val = len((dest / "val_list.txt").read_text().splitlines())
    print(f"extracted {tar_path} -> {dest}: {n_train} train / {n_val} val images")
    return dest


def _extract(tar_path: Path, dest: Path, digest: str) -> None:
    """Extract into a temporary sibling, stamp it, and rename it into place (the caller holds the lock)."""
    tmp = Path(tempfile.mkdtemp(prefix=".lite_data.", dir=dest.parent))
    try:
        with tarfile.open(tar_path) as tar:
            for member in tar.getmembers():
                if not (member.isfile() or member.isdir()) or member.name.startswith(("/", "..")) or ".." in member.name:
                    raise ValueError(f"refusing unsafe tar member {member.name!r}")
            if hasattr(tarfile, "data_filter"):
                tar.extractall(tmp, filter="data")
            else:  # members checked above: no links, no absolute or parent paths
                tar.extractall(tmp)
        (tmp / "lite_data" / STAMP).write_text(digest + "\n")
        if dest.exists() or dest.is_symlink():
            old = dest.with_name(f".{dest.name}.old.{os.getpid()}")
            os.replace(dest, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp / "lite_data", dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", nargs="?", default=None, help="TIPC config (accepted for prepare.sh parity)")
    parser.add_argument("mode", nargs="?", default="lite_train_lite_infer", choices=MODES)
    parser.add_argument("--dest", default="./lite_data", help="where lite_data goes (default ./lite_data)")
    parser.add_argument("--data-only", action="store_true", help="only extract lite_data; skip the checks")
    args = parser.parse_args(argv)
    try:
        extract_lite_data(Path(args.dest))
    except (FileNotFoundError, ValueError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    if args.data_only:
        return 0
    missing = [p for p in (*PRETRAINED, DEMO_DIR) if not p.exists()]
    if missing:
        print("ERROR: missing committed files: " + ", ".join(str(p) for p in missing)
              + " (regenerate: python reference_model/make_pretrained.py)", file=sys.stderr)
        return 1
    if args.mode == "paddle2onnx_infer":
        code = export_for_onnx(args.config)
        if code:
            return code
    print(f"mode {args.mode}: data ready; pretrained weights and demo images present")
    return 0


def config_value(config: str | None, key: str, default: str) -> str:
    """The value of the ``key:value`` row of ``config`` (the first one), else ``default``."""
    if config and Path(config).is_file():
        for line in Path(config).read_text(encoding="utf-8").splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip() == key and value.strip() not in ("", "null"):
                return value.strip()
    return default


def export_for_onnx(config: str | None) -> int:
    """paddle2onnx_infer converts an exported model (upstream prepare.sh downloads one): export the
    committed pretrained weights to the config's ``--model_dir`` unless a newer export is there."""
    out = Path(config_value(config, "--model_dir", ONNX_MODEL_DIR))
    weights = PRETRAINED[0]
    program = out / "inference.json"
    if program.is_file() and (out / "inference.pdiparams").is_file() and program.stat().st_mtime >= weights.stat().st_mtime:
        print(f"{out} holds an export of {weights.name}: up to date")
        return 0
    argv = [sys.executable, str(Path(__file__).with_name("export_model.py")),
            f"--pretrained={weights.with_suffix('')}", f"--save-inference-dir={out}"]
    print("exporting the pretrained model for paddle2onnx: " + " ".join(argv), flush=True)
    return subprocess.run(argv, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())

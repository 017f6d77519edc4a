"""What AutoLog reports about the machine: OS/CUDA/cuDNN/driver/Paddle versions, and a sampler
of CPU RSS and GPU memory/utilisation. Every probe returns None when its tool or file is absent,
so a CPU-only box without Paddle still gets a full report.

Upstream reads these with ``distro``, ``nvcc --version``, ``cudnn.h`` (via ``whereis``) and
``nvidia-smi``; we do the same without a shell, and sample on a daemon thread instead of a
spawned process (see :class:`ResourceSampler`).
"""

from __future__ import annotations

import importlib
import os
import platform
import shutil
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path

SAMPLE_INTERVAL_S = 0.2

def _run(argv: Sequence[str], timeout: float = 10.0) -> str | None:
    if shutil.which(argv[0]) is None:
        return None
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def os_info() -> str:
    """``"<name> <version>"`` as upstream builds it (``Ubuntu 16.04``, ``CentOS Linux 7``)."""
    system = platform.system()
    if system == "Darwin":
        return f"macOs {platform.mac_ver()[0]}"
    if system == "Windows":
        return f"Windows {platform.win32_ver()[0]}"
    if system != "Linux":
        return "None None"
    try:
        distro = importlib.import_module("distro")
        return f"{distro.name()} {distro.version()}"
    except ImportError:
        pass
    fields: dict[str, str] = {}
    for candidate in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            text = Path(candidate).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            name, sep, value = line.partition("=")
            if sep:
                fields[name.strip()] = value.strip().strip("\"'")
        break
    return f"{fields.get('NAME', '')} {fields.get('VERSION_ID', '')}"


def cuda_version() -> str | None:
    """Text after the last ``V`` of ``nvcc --version`` (upstream: it keeps the ``Build`` line)."""
    out = _run(["nvcc", "--version"])
    return out.split("V")[-1].strip() if out else None


def cudnn_version() -> str | None:
    """``major.minor.patch`` from ``cudnn.h`` (``None.None.None`` when the header holds no defines)."""
    dirs = [os.environ.get("CUDA_HOME", ""), os.environ.get("CUDA_PATH", "")]
    candidates = [Path(d) / "include" / "cudnn.h" for d in dirs if d]
    candidates += [Path(d) / "cudnn.h" for d in ("/usr/include", "/usr/local/include",
                                                  "/usr/local/cuda/include")]
    header = next((p for p in candidates if p.is_file()), None)
    if header is None:
        return None
    try:
        text = header.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None

    def part(define: str) -> str | None:
        hits = [ln for ln in text.splitlines() if define in ln and "CUDNN_VERSION" not in ln]
        return hits[-1].split(" ")[-1].strip() if hits else None

    return f"{part('#define CUDNN_MAJOR')}.{part('#define CUDNN_MINOR')}.{part('CUDNN_PATCHLEVEL')}"


def driver_version() -> str | None:
    out = _run(["nvidia-smi"])
    if not out or "Driver Version:" not in out:
        return None
    return out.split("Driver Version:")[1].strip().split(" ")[0]


def env_info() -> dict[str, str | None]:
    return {"os_info": os_info(), "cuda_version": cuda_version(), "cudnn_version": cudnn_version(),
            "nvidia_driver_version": driver_version()}


def paddle_info() -> tuple[str | None, str | None]:
    """``(paddle.__version__, paddle.__git_commit__)``, or ``(None, None)`` without Paddle."""
    try:
        paddle = importlib.import_module("paddle")
    except ImportError:
        return None, None
    return getattr(paddle, "__version__", None), getattr(paddle, "__git_commit__", None)


# ---- resource sampling ----

_MB = 1024 * 1024
_GPU_QUERY = ("index", "uuid", "name", "timestamp", "memory.total", "memory.free", "memory.used",
              "utilization.gpu", "utilization.memory")


def cpu_rss_mb(pid: int) -> float | None:
    """Resident set size of ``pid`` in MB (4 decimals), or None if the process is gone."""
    try:
        psutil = importlib.import_module("psutil")
        return round(float(psutil.Process(pid).memory_info().rss) / _MB, 4)
    except ImportError:
        pass
    except Exception:  # psutil.NoSuchProcess / AccessDenied
        return None
    try:  # Linux without psutil
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(pages * os.sysconf("SC_PAGE_SIZE") / _MB, 4)


def gpu_stats(gpu_id: int, nvidia_smi: str = "nvidia-smi") -> tuple[float, float] | None:
    """``(memory.used MB, utilization.gpu %)`` of the ``gpu_id``-th row of ``nvidia-smi``."""
    out = _run([nvidia_smi, f"--query-gpu={','.join(_GPU_QUERY)}", "--format=csv,noheader,nounits"])
    if not out:
        return None
    rows = [dict(zip(_GPU_QUERY, line.strip().split(", "))) for line in out.splitlines() if line.strip()]
    try:
        row = rows[gpu_id]
        return float(row["memory.used"]), float(row["utilization.gpu"])
    except (IndexError, KeyError, ValueError):
        return None


class ResourceSampler:
    """Samples CPU RSS (pairwise running mean) and GPU memory/utilisation (running max) on a
    daemon thread every ``interval`` seconds until :meth:`stop`."""

    def __init__(self, pids: Sequence[int], gpu_id: int | None, interval: float = SAMPLE_INTERVAL_S) -> None:
        self.pids = list(pids)
        self.gpu_id = gpu_id
        self.interval = interval
        self.cpu_rss: float | None = None
        self.gpu_mem: float | None = None
        self.gpu_util: float | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="autolog-sampler", daemon=True)
        self._samples = 0

    def start(self) -> ResourceSampler:
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def sample(self) -> None:
        values = [cpu_rss_mb(pid) for pid in self.pids]
        rss = round(sum(v for v in values if v is not None), 4) if any(v is not None for v in values) else None
        gpu = gpu_stats(self.gpu_id) if self.gpu_id is not None else None
        with self._lock:
            if rss is not None:
                self.cpu_rss = rss if self.cpu_rss is None else (rss + self.cpu_rss) / 2
            if gpu is not None:
                self.gpu_mem = gpu[0] if self.gpu_mem is None else max(gpu[0], self.gpu_mem)
                self.gpu_util = gpu[1] if self.gpu_util is None else max(gpu[1], self.gpu_util)
            self._samples += 1

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def stop(self) -> tuple[float | None, float | None, float | None]:
        """Stop the thread (idempotent) and return ``(cpu_rss_mb, gpu_rss_mb, gpu_util)``."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10 * self.interval + 10)
        if self._samples == 0:
            self.sample()
        with self._lock:
            rss = None if self.cpu_rss is None else round(self.cpu_rss, 4)
            return rss, self.gpu_mem, self.gpu_util

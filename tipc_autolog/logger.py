"""An AutoLog 1.2.0-compatible benchmark logger for inference scripts (``--benchmark``).

Upstream ``auto_log`` (LDOUBLEV/AutoLog) is not on PyPI: TIPC installs a bcebos-hosted wheel, and
``No module named 'auto_log'`` is a recurring issue. This module prints the same block, line by
line, so log parsers (ours in :mod:`pytest_tipc.verdicts.autolog_parse`, and the upstream benchmark tools)
read it unchanged::

    from tipc_autolog.logger import AutoLogger

    autolog = AutoLogger(model_name="mobilenet_v3_small", model_precision="fp32", batch_size=1,
                         inference_config=config, gpu_ids="auto" if use_gpu else None, warmup=2)
    for image in images:
        autolog.times.start()
        ...preprocess...
        autolog.times.stamp()
        ...run...
        autolog.times.stamp()
        ...postprocess...
        autolog.times.end(stamp=True)
    autolog.report()

Which class ``AutoLogger`` is
    ``tipc_autolog.logger.AutoLogger`` is resolved on first access (PEP 562). When the real
    ``auto_log`` package is importable it is ``auto_log.AutoLogger``; otherwise it is our
    :class:`TipcAutoLogger`. The environment variable ``PYTEST_TIPC_AUTOLOG`` overrides this:
    ``builtin`` forces ours (tests use it), ``auto_log`` forces the real one (ImportError if it is
    missing), ``auto`` or unset picks as above. :data:`IMPLEMENTATION` names the choice.

Differences from upstream, all deliberate
    * Paddle is optional and imported lazily (versions print ``None`` without it).
    * Memory is sampled by a daemon *thread*, not a spawned process: nothing is left behind if
      ``report()`` is never called. ``report()`` stops it; so does garbage collection or exit.
    * Upstream reports the *first* queued sample (a FIFO ``get``); we report the pairwise running
      mean of CPU RSS and the running max of GPU memory/utilisation over the whole run, which
      is what the upstream code intends. CPU RSS prints rounded to 4 decimals, as upstream output does.
    * GPU stats need ``nvidia-smi``; without it they print ``None`` instead of crashing.
    * ``time_keys`` is copied (upstream appends extra stamp keys to the shared default list).
    * The default logger is a private logger named ``root`` with upstream's format, so the output
      is identical but repeated loggers don't stack handlers on the real root logger.
    * ``report()`` returns the printed values as a dict (upstream returns None) and never calls
      ``sys.exit`` (AutoLog HEAD does since May 2022; the 1.2.0 wheel does not).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tipc_autolog.sysinfo import ResourceSampler, env_info, paddle_info

ENV_VAR = "PYTEST_TIPC_AUTOLOG"
DEFAULT_TIME_KEYS = ("preprocess_time", "inference_time", "postprocess_time")
LOG_FORMAT = "[%(asctime)s] %(name)s %(levelname)s: %(message)s"
LOG_DATEFMT = "%Y/%m/%d %H:%M:%S"
LOG_API_VERSION = 1.0

# The section banners, byte for byte as auto_log 1.2.0 prints them (dash counts differ per line).
BANNERS = {
    "env": "---------------------- Env info ----------------------",
    "paddle": "---------------------- Paddle info ----------------------",
    "conf": "----------------------- Conf info -----------------------",
    "model": "----------------------- Model info ----------------------",
    "data": "----------------------- Data info -----------------------",
    "perf": "----------------------- Perf info -----------------------",
}

_CONF_KEYS = ("runtime_device", "ir_optim", "enable_tensorrt", "precision", "enable_mkldnn",
              "cpu_math_library_num_threads")


class Times:
    """Upstream ``auto_log.utils.Times``: per-key stage durations and per-sample totals.

    ``start()`` begins a sample; each ``stamp()`` closes the next stage (keys cycle; stamps past
    the last key create ``stamps_<n>`` keys); ``end(stamp=False)`` records the sample's total.
    Statistics skip the first ``warmup`` entries and raise ``ValueError`` when there are no more
    than ``warmup`` of them, as upstream does.
    """

    def __init__(self, keys: Sequence[str] = DEFAULT_TIME_KEYS, warmup: int = 0) -> None:
        self.keys = list(keys)
        self.warmup = warmup
        self.times: dict[str, list[float]] = {}
        self.total_time: list[float] = []
        self.time_stamps: list[float] = []
        self.stamp_count = 0
        self.reset()

    def reset(self) -> None:
        self.times = {k: [] for k in self.keys}
        self.total_time = []
        self.init()

    def init(self) -> None:
        self.stamp_count = 0
        self.time_stamps = []

    def start(self, stamp: bool = True) -> None:
        self.init()
        if stamp:
            self.time_stamps.append(time.perf_counter())

    def stamp(self) -> None:
        if not self.time_stamps:
            self.start()
        self.stamp_count += 1
        self.time_stamps.append(time.perf_counter())
        if self.stamp_count > len(self.keys):
            self.keys.append(f"stamps_{self.stamp_count}")
        key = self.keys[(self.stamp_count - 1) % len(self.keys)]
        self.times.setdefault(key, []).append(self.time_stamps[-1] - self.time_stamps[-2])

    def end(self, stamp: bool = False) -> None:
        if stamp:
            self.stamp()
        if not self.time_stamps:
            raise RuntimeError("Times.end() called before Times.start()")
        self.total_time.append(self.time_stamps[-1] - self.time_stamps[0])
        self.init()

    def set_keys(self, keys: Sequence[str]) -> None:
        self.keys = list(keys)
        self.init()

    def _num_counts(self) -> int:
        return len(self.total_time)

    def _report_total_time(self, mode: str = "avg") -> Any:
        if mode == "avg":
            return self.mean(self.total_time)
        if mode == "sum":
            return self.sum(self.total_time)
        return self.total_time

    def value(self, key: Sequence[str] | None = None, mode: str | None = None) -> dict[str, Any]:
        res: dict[str, Any] = {}
        for k in self.keys:
            values = self.times.get(k, [])
            res[k] = self.mean(values) if mode == "mean" else self.sum(values) if mode == "sum" else values
        for k in key or ():
            if k not in self.keys:
                raise AssertionError(f"Expect the element of {list(key or ())} in self.keys: {self.keys}")
        return res

    def _check(self, values: Sequence[float]) -> list[float]:
        if len(values) <= self.warmup:
            raise ValueError(f"The number {len(values)} of time stamps must be larger than warmup: {self.warmup}")
        return list(values[self.warmup:])

    def mean(self, values: Sequence[float]) -> float:
        kept = self._check(values)
        return sum(kept) / len(kept) if kept else 0.0

    def sum(self, values: Sequence[float]) -> float:
        return float(sum(self._check(values)))


def resolve_gpu_id(gpu_ids: Any) -> int | None:
    """``None`` → no GPU stats; ``"auto"`` → first char of ``CUDA_VISIBLE_DEVICES`` (0 if unset);
    an int or a list/tuple (its first entry) → that id."""
    if gpu_ids is None:
        return None
    if gpu_ids == "auto":
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        if visible is None:
            return 0
        return int(visible[0]) if visible[:1].isdigit() else None
    if isinstance(gpu_ids, (list, tuple)):
        return int(gpu_ids[0]) if gpu_ids else None
    return int(gpu_ids)


def parse_inference_config(config: Any, precision: str) -> dict[str, Any]:
    """Upstream ``parse_config``: a ``paddle.inference.Config``, a dict, or None (all ``"None"``)."""
    if config is None:
        status: dict[str, Any] = {k: "None" for k in _CONF_KEYS}
        status["precision"] = precision
        return status
    if isinstance(config, dict):
        return {k: config.get(k) for k in _CONF_KEYS}
    return {
        "runtime_device": "gpu" if config.use_gpu() else "cpu",
        "ir_optim": config.ir_optim(),
        "enable_tensorrt": config.tensorrt_engine_enabled(),
        "precision": precision,
        "enable_mkldnn": config.mkldnn_enabled(),
        "cpu_math_library_num_threads": config.cpu_math_library_num_threads(),
    }


def format_report(values: dict[str, Any], identifier: str | None = None) -> list[str]:
    """The messages ``report()`` logs, in order (the first is upstream's ``"\\n"``).

    ``values`` keys: os_info, cuda_version, cudnn_version, nvidia_driver_version, paddle_version,
    paddle_commit, log_api_version, runtime_device, ir_optim, enable_tensorrt, enable_mkldnn,
    cpu_math_library_num_threads, model_name, precision, batch_size, input_shape, data_num,
    cpu_rss_mb, gpu_rss_mb, gpu_util, total_time_s, preprocess_time_ms, inference_time_ms,
    postprocess_time_ms.
    """
    tag = f"[{identifier}]" if identifier else ""
    v = values
    return [
        "\n",
        BANNERS["env"],
        f"{tag} OS_version: {v['os_info']}",
        f"{tag} CUDA_version: {v['cuda_version']}",
        f"{tag} CUDNN_version: {v['cudnn_version']}",
        f"{tag} drivier_version: {v['nvidia_driver_version']}",
        BANNERS["paddle"],
        f"{tag} paddle_version: {v['paddle_version']}",
        f"{tag} paddle_commit: {v['paddle_commit']}",
        f"{tag} log_api_version: {v['log_api_version']}",
        BANNERS["conf"],
        f"{tag} runtime_device: {v['runtime_device']}",
        f"{tag} ir_optim: {v['ir_optim']}",
        f"{tag} enable_memory_optim: {True}",
        f"{tag} enable_tensorrt: {v['enable_tensorrt']}",
        f"{tag} enable_mkldnn: {v['enable_mkldnn']}",
        f"{tag} cpu_math_library_num_threads: {v['cpu_math_library_num_threads']}",
        BANNERS["model"],
        f"{tag} model_name: {v['model_name']}",
        f"{tag} precision: {v['precision']}",
        BANNERS["data"],
        f"{tag} batch_size: {v['batch_size']}",
        f"{tag} input_shape: {v['input_shape']}",
        f"{tag} data_num: {v['data_num']}",
        BANNERS["perf"],
        f"{tag} cpu_rss(MB): {v['cpu_rss_mb']}, gpu_rss(MB): {v['gpu_rss_mb']}, gpu_util: {v['gpu_util']}%",
        f"{tag} total time spent(s): {v['total_time_s']}",
        f"{tag} preprocess_time(ms): {v['preprocess_time_ms']}, inference_time(ms): {v['inference_time_ms']}, "
        f"postprocess_time(ms): {v['postprocess_time_ms']}",
    ]


def _default_logger(save_path: str | os.PathLike[str] | None) -> logging.Logger:
    # An unregistered Logger named "root": the same "%(name)s" as upstream's getLogger('root'),
    # without adding handlers to the process-wide root logger on every AutoLogger.
    logger = logging.Logger("root", logging.DEBUG)
    formatter = logging.Formatter(LOG_FORMAT, datefmt=LOG_DATEFMT)
    stream = logging.StreamHandler(stream=sys.stdout)
    stream.setFormatter(formatter)
    logger.addHandler(stream)
    if save_path is not None:
        Path(save_path).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(save_path, "w")
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    return logger


def _shutdown(sampler: ResourceSampler, handlers: list[logging.Handler]) -> None:
    sampler.stop()
    for handler in handlers:
        handler.close()


class TipcAutoLogger:
    """Our ``auto_log.AutoLogger`` (1.2.0 signature); see the module docstring for differences."""

    def __init__(
        self,
        model_name: str,
        model_precision: str = "fp32",
        batch_size: int | str = 1,
        data_shape: str = "dynamic",
        save_path: str | os.PathLike[str] | None = None,
        inference_config: Any = None,
        pids: int | Sequence[int] | None = None,
        process_name: str | None = None,
        gpu_ids: Any = None,
        time_keys: Sequence[str] = DEFAULT_TIME_KEYS,
        warmup: int = 0,
        logger: logging.Logger | None = None,
        **kwargs: Any,
    ) -> None:
        self.autolog_version = LOG_API_VERSION
        self.save_path = save_path
        self.model_name = model_name
        self.precision = model_precision
        self.batch_size = batch_size
        self.data_shape = data_shape
        self.paddle_infer_config = inference_config
        self.config_status = parse_inference_config(inference_config, model_precision)
        self.time_keys = list(time_keys)
        self.times = Times(keys=self.time_keys, warmup=warmup)
        self.paddle_version, self.paddle_commit = paddle_info()
        self.process_name = process_name
        self.extra = dict(kwargs)  # upstream forwards these to a broken RunConfig; we keep them
        own_logger = logger is None
        self.logger = _default_logger(save_path) if logger is None else logger
        self.pids = os.getpid() if pids is None else pids
        self.gpu_ids = resolve_gpu_id(gpu_ids)
        pid_list = [self.pids] if isinstance(self.pids, int) else list(self.pids)
        self._sampler = ResourceSampler(pid_list, self.gpu_ids).start()
        handlers = list(self.logger.handlers) if own_logger else []
        self._finalizer = weakref.finalize(self, _shutdown, self._sampler, handlers)

    def close(self) -> None:
        """Stop the sampler and close the handlers of the logger we created (idempotent)."""
        self._finalizer()

    def _stage_mean_ms(self, means: dict[str, Any], name: str, index: int) -> float:
        key = name if name in means else (self.time_keys[index] if index < len(self.time_keys) else name)
        return round(float(means[key]) * 1000, 4)

    def report(self, identifier: str | None = None) -> dict[str, Any]:
        """Log the Env/Paddle/Conf/Model/Data/Perf block; return the printed values."""
        try:
            means = self.times.value(key=self.time_keys, mode="mean")
            stages = [self._stage_mean_ms(means, name, i) for i, name in enumerate(DEFAULT_TIME_KEYS)]
            total = round(float(self.times._report_total_time(mode="sum")), 4)
        finally:
            cpu_rss, gpu_mem, gpu_util = self._sampler.stop()
        values: dict[str, Any] = dict(env_info())
        values.update(
            paddle_version=self.paddle_version, paddle_commit=self.paddle_commit,
            log_api_version=self.autolog_version,
            runtime_device=self.config_status["runtime_device"], ir_optim=self.config_status["ir_optim"],
            enable_tensorrt=self.config_status["enable_tensorrt"],
            enable_mkldnn=self.config_status["enable_mkldnn"],
            cpu_math_library_num_threads=self.config_status["cpu_math_library_num_threads"],
            model_name=self.model_name, precision=self.precision, batch_size=self.batch_size,
            input_shape=self.data_shape, data_num=self.times._num_counts(),
            cpu_rss_mb=cpu_rss,
            gpu_rss_mb=gpu_mem if self.gpu_ids is not None else None,
            gpu_util=gpu_util if self.gpu_ids is not None else None,
            total_time_s=total, preprocess_time_ms=stages[0], inference_time_ms=stages[1],
            postprocess_time_ms=stages[2],
        )
        for message in format_report(values, identifier):
            self.logger.info(message)
        return values


# ---- which AutoLogger `from tipc_autolog.logger import AutoLogger` gives ----

IMPLEMENTATION: str | None = None  # "auto_log" or "builtin" once AutoLogger has been resolved


def resolve_autologger(choice: str | None = None) -> type:
    """The class to use: ``choice`` (or ``$PYTEST_TIPC_AUTOLOG``) is ``auto`` (default),
    ``builtin`` or ``auto_log``."""
    global IMPLEMENTATION
    choice = (choice or os.environ.get(ENV_VAR) or "auto").strip().lower()
    if choice not in ("auto", "builtin", "auto_log"):
        raise ValueError(f"{ENV_VAR}={choice!r}: expected auto, builtin or auto_log")
    if choice != "builtin":
        try:
            real: type = importlib.import_module("auto_log").AutoLogger
        except Exception:  # ImportError, or a broken install (its paddle/pynvml imports)
            if choice == "auto_log":
                raise
        else:
            IMPLEMENTATION = "auto_log"
            return real
    IMPLEMENTATION = "builtin"
    return TipcAutoLogger


if TYPE_CHECKING:  # for type checkers; at run time __getattr__ below picks the class
    AutoLogger = TipcAutoLogger


def __getattr__(name: str) -> Any:
    if name == "AutoLogger":
        cls = resolve_autologger()
        globals()["AutoLogger"] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["AutoLogger", "ResourceSampler", "Times", "TipcAutoLogger", "format_report", "resolve_autologger"]

"""Master ports for ``paddle.distributed.launch``: a range per xdist worker, so concurrent
launches of one run never pick the same port."""

from __future__ import annotations

import re
import socket
import threading

BASE = 29500
PER_WORKER = 20

_next = 0  # where this process's next search starts in its range
_next_lock = threading.Lock()


def worker_index(worker_id: str) -> int:
    """``gw3`` → 3; ``master`` (no xdist) → 0."""
    found = re.search(r"(\d+)$", worker_id)
    return int(found.group(1)) if found else 0


def port_range(worker_id: str, base: int = BASE, size: int = PER_WORKER) -> range:
    start = base + size * worker_index(worker_id)
    return range(start, start + size)


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(worker_id: str, host: str = "127.0.0.1", base: int = BASE, size: int = PER_WORKER) -> int:
    """A free port of the worker's range, rotating so consecutive launches use different ports
    (a just-closed master may linger in TIME_WAIT). When the whole range is taken, any free port."""
    global _next
    ports = port_range(worker_id, base, size)
    with _next_lock:
        start = _next
    for offset in range(len(ports)):
        port = ports[(start + offset) % len(ports)]
        if is_free(port, host):
            with _next_lock:
                _next = start + offset + 1
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])

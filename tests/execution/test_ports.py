"""Master ports: one range per xdist worker."""

from __future__ import annotations

import socket

from pytest_tipc.execution.step.ports import free_port, port_range, worker_index


def test_worker_ranges_do_not_overlap() -> None:
    assert worker_index("master") == 0 and worker_index("gw12") == 12
    assert port_range("gw0") == range(29500, 29520)
    assert port_range("gw3") == range(29560, 29580)
    assert not set(port_range("gw1")) & set(port_range("gw2"))


def test_free_port_skips_busy_ports_and_rotates() -> None:
    ports = port_range("gw40", base=31000, size=4)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", ports[0]))
        busy.listen()
        picked = [free_port("gw40", base=31000, size=4) for _ in range(3)]
    assert ports[0] not in picked and set(picked) <= set(ports)
    assert picked[0] != picked[1]

"""Metrics reach a real StatsD listener (UDP on 127.0.0.1) from ``airflow dags test``: created, succeeded
and failed counts, the charged units in thousandths, generation and wait times, named as documented."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.airflow_cli import dags_test


class StatsdListener:
    """Collects every StatsD datagram (``name:value|type[|@rate][|#tags]``) sent to it."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65535)
            except TimeoutError:
                continue
            self.lines.extend(data.decode().splitlines())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    def metrics(self, prefix: str) -> list[tuple[str, float, str]]:
        out = []
        for line in self.lines:
            name, _, rest = line.partition(":")
            if name.startswith(prefix):
                value, kind = rest.split("|")[:2]
                out.append((name, float(value), kind))
        return out


@pytest.fixture
def statsd() -> Iterator[StatsdListener]:
    listener = StatsdListener()
    yield listener
    listener.close()


def test_a_small_dag_reports_counts_units_and_times(emulator, statsd, tmp_path):
    emulator.configure(fail_next={"count": 1, "message": "content policy"})
    metrics = {
        "AIRFLOW__METRICS__STATSD_ON": "True",
        "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
        "AIRFLOW__METRICS__STATSD_PORT": str(statsd.port),
    }
    dags_test("kling_metrics", tmp_path, emulator.url, metrics)
    seen = statsd.metrics("airflow.kling.")
    counts = Counter()
    for name, value, kind in seen:
        if kind == "c":
            counts[name] += value
    charged = emulator.stats()["units_charged"]
    assert counts["airflow.kling.tasks.created"] == 3
    assert counts["airflow.kling.tasks.succeeded"] == 2
    assert counts["airflow.kling.tasks.failed"] == 1
    assert counts["airflow.kling.units"] == round(charged * 1000) > 0
    timers = {name for name, _, kind in seen if kind == "ms"}
    assert {"airflow.kling.generation_time", "airflow.kling.wait_time"} <= timers
    # The failed lookups of earlier tries are answers, not errors: no API error was counted.
    assert not [name for name in counts if name.startswith("airflow.kling.api.errors")]

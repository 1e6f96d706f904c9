"""One production-topology deployment and one Kling emulator, shared by the scenarios of this package.

Started on first use and stopped after the last scenario (package scope), also when one fails: PostgreSQL,
Redis, every Airflow component and the emulator each run in their own process group, and the finalizer
terminates, then kills, every group. Without PostgreSQL and Redis (and without root to install them) every
scenario is skipped, saying why. Logs and ``report.json`` are kept under ``artifacts/e2e-distributed/``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.deployment import AirflowApi, EmulatorProcess
from tests.e2e.distributed import report
from tests.e2e.distributed.services import find_or_install
from tests.e2e.distributed.topology import DistributedDeployment
from tests.e2e.helpers import TOKEN

DAG_IDS = ("dist_generations", "dist_waits", "dist_deadlines", "dist_worker_kill")
POOL = "kling_video"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/e2e/distributed/" in item.path.as_posix():
            item.add_marker(pytest.mark.distributed)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if report.REPORT:
        terminalreporter.section("Kling distributed e2e: figures per scenario (artifacts/e2e-distributed)")
        for line in report.lines():
            terminalreporter.line(line)


@dataclass
class Cluster:
    airflow: DistributedDeployment
    kling: EmulatorProcess

    @property
    def api(self) -> AirflowApi:
        return self.airflow.api

    def end_unfinished_runs(self) -> list[str]:
        """Fail every DAG run still going (a failed scenario's), so that the next one starts on its own."""
        ended = []
        for dag_id in DAG_IDS:
            for state in ("queued", "running"):
                for run in self.api.get(f"/dags/{dag_id}/dagRuns", state=state, limit=100)["dag_runs"]:
                    self.api.call(
                        "PATCH", f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}", json={"state": "failed"}
                    )
                    ended.append(f"{dag_id}/{run['dag_run_id']}")
        return ended

    def size_pool(self, slots: int) -> None:
        """The ``kling_video`` pool counts deferred tasks: at most ``slots`` generations in flight."""
        self.api.call(
            "PATCH", f"/pools/{POOL}", json={"name": POOL, "slots": slots, "include_deferred": True}
        )


@pytest.fixture(scope="package")
def cluster() -> Iterator[Cluster]:
    binaries = find_or_install()
    if isinstance(binaries, str):
        pytest.skip(binaries)
    started = time.monotonic()
    shutil.rmtree(report.ARTIFACTS, ignore_errors=True)
    home = report.ARTIFACTS / "airflow-home"
    home.mkdir(parents=True)
    kling = EmulatorProcess(report.ARTIFACTS, tokens=[TOKEN], access_keys={})
    airflow = None
    try:
        connection: dict[str, Any] = {
            "conn_type": "kling",
            "host": kling.url,
            "password": TOKEN,
            "extra": {"timeout": 10, "max_retries": 5},
        }
        airflow = DistributedDeployment(
            home, {"AIRFLOW_CONN_KLING_DEFAULT": json.dumps(connection)}, binaries
        )
        airflow.start(DAG_IDS)
        airflow.api.call("POST", "/pools", json={"name": POOL, "slots": 1, "include_deferred": True})
        report.record(
            "deployment",
            startup_seconds=round(time.monotonic() - started, 1),
            components=sorted(airflow.components),
            load_average=os.getloadavg(),
        )
        yield Cluster(airflow, kling)
    finally:
        if airflow is not None:
            if "deployment" in report.REPORT:
                report.REPORT["deployment"]["cpu_seconds_by_component"] = airflow.cpu_seconds()
            airflow.stop()
        kling.stop()
        if "deployment" in report.REPORT:
            figures = report.REPORT["deployment"]
            report.record("deployment", **figures, total_seconds=round(time.monotonic() - started, 1))


@pytest.fixture(autouse=True)
def isolated(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each scenario, end whatever it left running (only a failed one leaves anything)."""
    yield
    if "cluster" in request.fixturenames:
        request.getfixturevalue("cluster").end_unfinished_runs()

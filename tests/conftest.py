"""Shared fixtures: an isolated Airflow home with a SQLite DB, the Kling emulator on loopback, DAG runs.

The Airflow environment is set before anything imports Airflow, so no test touches a real installation.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="kling-tests-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_AIRFLOW_HOME / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
# Our operators follow Airflow's [operators] default_deferrable (false in a stock install); the suites test
# the deferrable path by default, as a deployment that waits in the triggerer would run it.
os.environ["AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE"] = "True"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}"
os.environ.pop("AIRFLOW_CONN_KLING_DEFAULT", None)
(_AIRFLOW_HOME / "dags").mkdir()

from airflow_provider_kling.testing import DEFAULT_TOKEN, EmulatorConfig, EmulatorServer  # noqa: E402

# Distinctive, realistic secrets: the masker ignores very short ones, and tests grep for these.
ACCESS_KEY = "ak-test-7f3c9e2b41d84a6f"
SECRET_KEY = "sk-secret-c1e5a9d3b7f24680aa55e1d2c3b4a5f6"
TOKEN = DEFAULT_TOKEN
FAST = {"submitted_seconds": 0.1, "task_duration": 0.4}


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    config = EmulatorConfig(access_keys={ACCESS_KEY: SECRET_KEY}, **FAST)
    with EmulatorServer(config) as server:
        yield server


@pytest.fixture
def emulator(emulator_server: EmulatorServer) -> EmulatorServer:
    """The emulator, reset to fast defaults for each test."""
    emulator_server.reset()
    emulator_server.configure(**FAST)
    return emulator_server


def connection_json(
    host: str, *, login: str | None = None, password: str | None = TOKEN, **extra: Any
) -> str:
    conn: dict[str, Any] = {"conn_type": "kling", "host": host}
    if login is not None:
        conn["login"] = login
    if password is not None:
        conn["password"] = password
    if extra:
        conn["extra"] = extra
    return json.dumps(conn)


@pytest.fixture
def kling_conn(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """``kling_conn(conn_id="kling_default", **fields)`` points a connection at the emulator."""

    def make(conn_id: str = "kling_default", **fields: Any) -> str:
        fields.setdefault("host", emulator.url)
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection_json(**fields))
        return conn_id

    make()
    return make


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate the SQLite metadata DB once per session."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )
    return _AIRFLOW_HOME


class DagRunResult:
    """A finished ``dag.test()`` run: its state and per-task states and XComs."""

    def __init__(self, dag_run: Any) -> None:
        self.dag_run = dag_run
        self.state = str(dag_run.state)
        self.tis = {(ti.task_id, ti.map_index): ti for ti in dag_run.get_task_instances()}

    def ti(self, task_id: str, map_index: int = -1) -> Any:
        return self.tis[(task_id, map_index)]

    def task_state(self, task_id: str, map_index: int = -1) -> str:
        return str(self.ti(task_id, map_index).state)

    def xcom(self, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
        return self.ti(task_id, map_index).xcom_pull(task_ids=task_id, key=key, map_indexes=map_index)


@pytest.fixture
def run_dag(airflow_db: Path) -> Callable[[str], DagRunResult]:
    """``run_dag(body)``: write a DAG file whose ``body`` defines ``dag``, run it with ``dag.test()``.

    Airflow 3 runs only DAGs found in a bundle, so each test's DAG is a real file in the dags folder.
    """
    created: list[Path] = []

    def run(body: str) -> DagRunResult:
        dag_id = f"t_{uuid.uuid4().hex[:12]}"
        path = airflow_db / "dags" / f"{dag_id}.py"
        header = (
            "import datetime\nfrom airflow.providers.common.compat.sdk import DAG\nDAG_ID = "
            + repr(dag_id)
            + "\n"
        )
        path.write_text(header + textwrap.dedent(body))
        created.append(path)
        spec = importlib.util.spec_from_file_location(dag_id, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return DagRunResult(module.dag.test())

    yield run  # type: ignore[misc]
    for path in created:
        path.unlink(missing_ok=True)


DAG_FILES = Path(__file__).parent / "dags"


@pytest.fixture
def run_dag_file(airflow_db: Path) -> Callable[..., DagRunResult]:
    """``run_dag_file("name", run_conf={...})``: run ``tests/dags/name.py`` (a real, linted and type-checked
    DAG file, copied into the dags folder Airflow 3 reads bundles from) with ``dag.test()``."""
    created: list[Path] = []

    def run(name: str, run_conf: dict[str, Any] | None = None) -> DagRunResult:
        target = airflow_db / "dags" / f"{name}.py"
        shutil.copyfile(DAG_FILES / f"{name}.py", target)
        created.append(target)
        spec = importlib.util.spec_from_file_location(f"dag_file_{name}", target)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return DagRunResult(module.dag.test(run_conf=run_conf))

    yield run  # type: ignore[misc]
    for path in created:
        path.unlink(missing_ok=True)


@pytest.fixture
def recorder(emulator: EmulatorServer, kling_conn: Callable[..., str]) -> Iterator[Any]:
    """``kling_default`` points at a loopback proxy that records each request and forwards it to Kling."""
    from tests.operators.helpers import RequestRecorder

    with RequestRecorder(upstream=emulator.url) as proxy:
        kling_conn(host=proxy.url)
        yield proxy

"""Run a DAG file of ``tests/dags`` with ``airflow dags test`` in a fresh Airflow home (a subprocess, as a
user would), against the emulator: for tests that need Airflow's own configuration (metrics, OpenLineage)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import DAG_FILES, TOKEN


def dags_test(
    dag_id: str, home: Path, kling_url: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``airflow db migrate`` then ``airflow dags test dag_id`` (from ``tests/dags/<dag_id>.py``); returns the
    test run (its output included), whatever its exit code."""
    dags = home / "dags"
    dags.mkdir(exist_ok=True)
    shutil.copyfile(DAG_FILES / f"{dag_id}.py", dags / f"{dag_id}.py")
    full_env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW_CONN_KLING_DEFAULT": json.dumps(
            {"conn_type": "kling", "host": kling_url, "password": TOKEN}
        ),
        **(env or {}),
    }
    done = None
    for args in (["db", "migrate"], ["dags", "test", dag_id]):
        command = [sys.executable, "-m", "airflow", *args]
        done = subprocess.run(command, env=full_env, capture_output=True, text=True, timeout=600, check=False)
    assert done is not None
    return done

"""The gallery inside Airflow's own API server app, over generations that real DAG runs left in the DB.

``tests/dags/kling_gallery.py`` runs once per session with ``dag.test()`` against the emulator; the API
server app is Airflow's ``create_app``, which mounts the plugins found through the ``airflow.plugins``
entry point (ours among them) with a real auth manager: ``RestrictedAuthManager``, where the ``viewer`` may
not read ``kling_gallery_private``. Airflow 3.1+ only: older Airflow has no UI plugins.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_1_PLUS

from tests.conftest import DAG_FILES, DagRunResult, connection_json

if not AIRFLOW_V_3_1_PLUS:
    collect_ignore_glob = ["test_gallery_*.py"]

PRIVATE_DAG = "kling_gallery_private"
FAILED_DAG = "kling_gallery_failure"
FAILURE_REASON = "The prompt violates the content policy (risk control)"
JWT_SECRET = "gallery-tests-jwt-secret-" + "3f9c1a7e5b2d4c6e8a0f" * 3


@dataclass
class Gallery:
    client: Any
    runs: dict[str, DagRunResult]
    media_dir: Path
    dags_folder: Path

    def run(self, dag_attr: str) -> DagRunResult:
        """Run another DAG of ``tests/dags/kling_gallery.py`` (while the session's environment holds)."""
        return _run("kling_gallery", dag_attr, None, self.dags_folder)

    def token(self, username: str, role: str) -> str:
        from airflow.api_fastapi.app import get_auth_manager
        from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

        return get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=username, role=role))

    def get(self, path: str, role: str | None = "admin", **params: Any) -> Any:
        headers = {} if role is None else {"Authorization": f"Bearer {self.token(role, role)}"}
        return self.client.get(f"/kling{path}", params=params, headers=headers)

    def cards(self, role: str = "admin", **params: Any) -> list[dict[str, Any]]:
        response = self.get("/api/generations", role, page_size=100, **params)
        assert response.status_code == 200, response.text
        cards: list[dict[str, Any]] = response.json()["generations"]
        return cards


def _run(name: str, dag_attr: str, run_conf: dict[str, Any] | None, dags_folder: Path) -> DagRunResult:
    target = dags_folder / f"{name}.py"
    shutil.copyfile(DAG_FILES / f"{name}.py", target)
    spec = importlib.util.spec_from_file_location(f"dag_file_{name}", target)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return DagRunResult(getattr(module, dag_attr).test(run_conf=run_conf))


@pytest.fixture(scope="session")
def gallery(
    airflow_db: Path, emulator_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gallery]:
    from airflow.api_fastapi.app import create_app, purge_cached_app
    from fastapi.testclient import TestClient

    from tests.gallery.restricted_auth import HIDDEN_DAGS_ENV

    media_dir = tmp_path_factory.mktemp("gallery-media")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(emulator_server.url))
        env.setenv("AIRFLOW__CORE__AUTH_MANAGER", "tests.gallery.restricted_auth.RestrictedAuthManager")
        env.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin,viewer:viewer")
        env.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
        env.setenv(
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(media_dir.parent / "passwords.json")
        )
        env.setenv("AIRFLOW__API_AUTH__JWT_SECRET", JWT_SECRET)
        env.setenv("AIRFLOW__KLING__GALLERY_MEDIA_ROOTS", str(media_dir))
        env.setenv(HIDDEN_DAGS_ENV, PRIVATE_DAG)
        emulator_server.reset()
        emulator_server.configure(submitted_seconds=0.1, task_duration=0.4)
        dags = airflow_db / "dags"
        runs = {
            "kling_gallery": _run("kling_gallery", "dag", {"media_dir": str(media_dir)}, dags),
            PRIVATE_DAG: _run("kling_gallery", "private_dag", None, dags),
        }
        assert {run.state for run in runs.values()} == {"success"}, {k: r.state for k, r in runs.items()}
        emulator_server.configure(fail_next={"count": 1, "message": FAILURE_REASON})
        runs[FAILED_DAG] = _run("kling_gallery", "failure_dag", None, dags)
        assert runs[FAILED_DAG].state == "failed"
        purge_cached_app()
        try:
            with TestClient(create_app(apps="core")) as client:
                yield Gallery(client, runs, media_dir, dags)
        finally:
            purge_cached_app()
            (dags / "kling_gallery.py").unlink(missing_ok=True)

"""A real Airflow 3 deployment on loopback for the end-to-end tests, and the Kling emulator beside it.

``AirflowDeployment`` runs ``airflow db migrate`` and then the four long-running components as separate
processes (scheduler with the LocalExecutor, dag-processor, triggerer, api-server), each in its own process
group so that a test can SIGKILL one component with all its children and start it again. Everything binds
to 127.0.0.1 (the log servers are not started: every component shares the same log folder). SQLite is the
metadata database: Airflow 3 allows the LocalExecutor on it, since task processes reach the database only
through the api-server's execution API.

``EmulatorProcess`` runs ``python -m airflow_provider_kling.testing --port 0 --port-file ...`` and talks to
its control endpoints (``/emulator/config``, ``/emulator/reset``, ``/emulator/stats``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import requests

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = Path(__file__).resolve().parent / "dags"
ARTIFACTS = ROOT / "artifacts" / "e2e"
LOOPBACK = "127.0.0.1"
COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")
# The LocalExecutor's worker processes: fewer than the deferred tasks of the deferral scenario on purpose.
PARALLELISM = 4
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def wait_for(
    what: str, check: Callable[[], T | None], timeout: float, interval: float = 0.5, diagnose: Any = None
) -> T:
    """Poll ``check`` until it returns something truthy; at the deadline fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = diagnose() if callable(diagnose) else diagnose
            raise AssertionError(
                f"timed out after {timeout:g}s waiting for {what}" + (f"\n{detail}" if detail else "")
            )
        time.sleep(interval)


class Process:
    """One child process in its own process group (session), with its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path, cwd: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> Process:
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start #{self.starts}: {' '.join(self.argv)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killpg reaches its children too
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill_group(self, sig: int) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)

    def group_alive(self) -> bool:
        if self.popen is None:
            return False
        try:
            os.killpg(self.popen.pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the whole group, then SIGKILL whatever is left after ``grace`` seconds."""
        if self.popen is None:
            return
        self.kill_group(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and (self.alive() or self.group_alive()):
            time.sleep(0.2)
        self.kill_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)

    def crash(self) -> None:
        """SIGKILL the whole group, as a machine or OOM killer would, and reap the leader."""
        self.kill_group(signal.SIGKILL)
        assert self.popen is not None
        self.popen.wait(timeout=10)
        wait_for(
            f"{self.name}'s process group to die", lambda: not self.group_alive(), timeout=10, interval=0.1
        )

    def tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class EmulatorProcess:
    """The Kling emulator as a separate process (as the ``kling-emulator`` CLI runs it)."""

    def __init__(
        self, workdir: Path, *, tokens: list[str], access_keys: dict[str, str], **options: Any
    ) -> None:
        self.token = tokens[0]
        port_file = workdir / "emulator.port"
        port_file.unlink(missing_ok=True)
        argv = [sys.executable, "-m", "airflow_provider_kling.testing", "--host", LOOPBACK, "--port", "0"]
        argv += ["--port-file", str(port_file)]
        for token in tokens:
            argv += ["--token", token]
        for access_key, secret_key in access_keys.items():
            argv += ["--access-key", f"{access_key}:{secret_key}"]
        for name, value in options.items():
            argv += [f"--{name.replace('_', '-')}", str(value)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        self.process = Process("kling-emulator", argv, env, workdir, ROOT).start()
        port = wait_for(
            "the emulator's port file",
            lambda: port_file.exists() and port_file.read_text().strip(),
            timeout=30,
            interval=0.1,
            diagnose=self.process.tail,
        )
        self.url = f"http://{LOOPBACK}:{int(port)}"
        self.http = requests.Session()

    def _control(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, self.url + path, json=body, timeout=10)
        assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def reset(self, **config: Any) -> dict[str, Any]:
        """Forget tasks and stats, restore the start-up config, then apply ``config``."""
        self._control("POST", "/emulator/reset", {})  # control POSTs must be JSON
        return self.configure(**config) if config else self._control("GET", "/emulator/config")

    def configure(self, **config: Any) -> dict[str, Any]:
        return self._control("POST", "/emulator/config", config)

    def stats(self) -> dict[str, Any]:
        return self._control("GET", "/emulator/stats")

    def task(self, task_id: str) -> dict[str, Any]:
        return self._control("GET", f"/emulator/tasks/{task_id}")

    def list_tasks(self, action: str, task_type: str) -> list[dict[str, Any]]:
        """Every task of a type, through Kling's own list API (call with faults off)."""
        response = self.http.get(
            f"{self.url}/v1/{action}/{task_type}",
            params={"pageNum": 1, "pageSize": 500},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        tasks: list[dict[str, Any]] = response.json()["data"]
        return tasks

    def stop(self) -> None:
        self.http.close()
        self.process.stop(grace=5)


class AirflowApi:
    """The api-server's REST API (``/api/v2``); keeps every response body for the secrets scan."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.bodies: list[tuple[str, str]] = []

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        response = self.http.request(method, f"{self.base_url}/api/v2{path}", **kwargs)
        self.bodies.append((f"{method} /api/v2{path}", response.text))
        return response

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path}: HTTP {response.status_code} {response.text[:2000]}")
        return response.json() if response.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=params or None)

    # -- DAG runs ---------------------------------------------------------------------------------------

    def trigger(self, dag_id: str, run_id: str, conf: dict[str, Any] | None = None) -> dict[str, Any]:
        body = {"dag_run_id": run_id, "logical_date": None, "conf": conf or {}}
        return self.call("POST", f"/dags/{dag_id}/dagRuns", json=body)

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            page = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=100, offset=len(out))
            out += page["task_instances"]
            if not page["task_instances"] or len(out) >= page["total_entries"]:
                return out

    def states(self, dag_id: str, run_id: str) -> dict[tuple[str, int], str | None]:
        return {(ti["task_id"], ti["map_index"]): ti["state"] for ti in self.task_instances(dag_id, run_id)}

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        """Wait until the run ends; returns its state (``success`` or ``failed``)."""

        def finished() -> str | None:
            state = self.dag_run(dag_id, run_id)["state"]
            return state if state in ("success", "failed") else None

        return wait_for(
            f"DAG run {dag_id}/{run_id} to finish",
            finished,
            timeout,
            interval=1.0,
            diagnose=lambda: f"task states: {sorted(self.states(dag_id, run_id).items())}",
        )

    def xcom(
        self, dag_id: str, run_id: str, task_id: str, key: str = "return_value", map_index: int = -1
    ) -> Any:
        entry = self.get(
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}", map_index=map_index
        )
        return entry["value"]  # the API returns the stored JSON value decoded

    def log(self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> str:
        """The task log of one try (the worker's and the triggerer's parts), as text lines."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        data = self.get(path, map_index=map_index, full_content="true")
        content = data.get("content")
        if isinstance(content, list):
            return "\n".join(json.dumps(item) if not isinstance(item, str) else item for item in content)
        return str(content)


class AirflowDeployment:
    """Scheduler + dag-processor + triggerer + api-server with the LocalExecutor, on 127.0.0.1."""

    def __init__(self, home: Path, extra_env: dict[str, str]) -> None:
        self.home = home
        self.log_dir = home / "process-logs"
        self.state_dir = home / "state"
        for folder in (self.log_dir, self.state_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        from cryptography.fernet import Fernet

        self.fernet_key = Fernet.generate_key().decode()
        self.db_path = home / "airflow.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(
            {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                # As the README recommends: Kling waits run in the triggerer by default.
                "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": str(PARALLELISM),
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__FERNET_KEY": self.fernet_key,
                "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db_path}",
                "AIRFLOW__API__HOST": LOOPBACK,
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API__BASE_URL": self.url,
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
                # A killed triggerer's triggers move to a new one once its heartbeat is 5 s old.
                "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
                "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "5",
                "KLING_E2E_STATE_DIR": str(self.state_dir),
                # Where the DAGs' KlingDownloadOperator tasks keep files (the example DAGs read it).
                "KLING_MEDIA_DIR": str(home.parent / "media"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(extra_env)
        self.env = env
        airflow = [sys.executable, "-m", "airflow"]
        argv = {
            "scheduler": [*airflow, "scheduler", "--skip-serve-logs"],
            "dag-processor": [*airflow, "dag-processor"],
            "triggerer": [*airflow, "triggerer", "--skip-serve-logs"],
            "api-server": [*airflow, "api-server", "--host", LOOPBACK, "--port", str(self.port)],
        }
        self.components = {name: Process(name, argv[name], env, self.log_dir, home) for name in COMPONENTS}
        self.api = AirflowApi(self.url)

    def start(self, dag_ids: Iterable[str], timeout: float = 180) -> AirflowDeployment:
        migrate = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        (self.log_dir / "db-migrate.log").write_text(migrate.stdout + migrate.stderr)
        assert migrate.returncode == 0, f"airflow db migrate failed:\n{migrate.stderr[-3000:]}"
        for component in self.components.values():
            component.start()
        wanted = set(dag_ids)
        wait_for(
            "the api-server, scheduler, dag-processor and triggerer",
            self.healthy,
            timeout,
            1.0,
            self.diagnose,
        )
        wait_for("the e2e DAGs to be parsed", lambda: wanted <= self.dag_ids(), timeout, 1.0, self.diagnose)
        return self

    def healthy(self) -> bool:
        with contextlib.suppress(requests.RequestException, ValueError):
            health = requests.get(f"{self.url}/api/v2/monitor/health", timeout=5).json()
            parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
            return all((health.get(part) or {}).get("status") == "healthy" for part in parts)
        return False

    def dag_ids(self) -> set[str]:
        with contextlib.suppress(requests.RequestException, ValueError, KeyError):
            dags = requests.get(f"{self.url}/api/v2/dags", params={"limit": 100}, timeout=5).json()["dags"]
            return {dag["dag_id"] for dag in dags}
        return set()

    def diagnose(self) -> str:
        out = []
        for name, component in self.components.items():
            out.append(f"--- {name} ({'alive' if component.alive() else 'dead'}) ---\n{component.tail(15)}")
        return "\n".join(out)

    def restart(self, name: str) -> None:
        self.components[name].start()

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the metadata DB directly (read-only), for what the REST API does not show."""
        db = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    def dump_db(self) -> str:
        """Every table of the metadata DB as SQL text."""
        db = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30)
        try:
            return "\n".join(db.iterdump())
        finally:
            db.close()

    def trigger_kwargs(self) -> dict[int, str]:
        """The decrypted kwargs of every trigger row still in the DB, by trigger id."""
        from cryptography.fernet import Fernet

        fernet = Fernet(self.fernet_key.encode())
        out = {}
        for trigger_id, kwargs in self.query("SELECT id, kwargs FROM trigger"):
            out[trigger_id] = kwargs if kwargs.startswith("{") else fernet.decrypt(kwargs.encode()).decode()
        return out

    def stop(self) -> None:
        for component in self.components.values():
            component.kill_group(signal.SIGTERM)
        for component in self.components.values():
            component.stop()

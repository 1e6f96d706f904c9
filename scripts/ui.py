"""``make ui``: a local Airflow UI with the example DAGs, the Kling gallery and a few finished generations.

Starts the Kling emulator on a free loopback port and ``airflow standalone`` (scheduler, dag-processor,
triggerer, api-server; SQLite under ``.ui/``), triggers three example DAGs and the review example, waits until
the generations are done and the review waits for a person, then prints the URLs and the login. Ctrl-C stops
everything. ``KLING_UI_PORT`` picks the UI's port (default 8080). Nothing here calls the real Kling.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests

from airflow_provider_kling.testing import DEFAULT_TOKEN, EmulatorConfig, EmulatorServer

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]
UI_DIR = ROOT / ".ui"
USER = "admin"
FINISHING = ("example_kling_text_to_video", "example_kling_images", "example_kling_sound_bed")
REVIEW = "example_kling_review_and_publish"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait(what: str, check: Callable[[], T | None], timeout: float, log: Path) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if value := check():
                return value
        except (requests.RequestException, ValueError, KeyError):
            pass
        time.sleep(2)
    raise SystemExit(f"Timed out after {timeout:g}s waiting for {what}; see {log}")


def environment(home: Path, port: int, kling_url: str, passwords: Path) -> dict[str, str]:
    media = UI_DIR / "media"
    connection = {"conn_type": "kling", "host": kling_url, "password": DEFAULT_TOKEN}
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
        # standalone starts its components as `airflow ...`: this interpreter's one, venv activated or not.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        # Free ports for the log servers, so that another Airflow on this machine is no obstacle.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW_CONN_KLING_DEFAULT": json.dumps(connection),
        # Downloads land here, and the gallery may play them from here.
        "KLING_MEDIA_DIR": str(media),
        "AIRFLOW__KLING__GALLERY_MEDIA_ROOTS": str(media),
    }


class Airflow:
    """The REST API of the local standalone, as the ``admin`` user."""

    def __init__(self, url: str, password: str) -> None:
        self.url = url
        self.password = password
        self.http = requests.Session()

    def login(self) -> bool:
        answer = self.http.post(
            f"{self.url}/auth/token", json={"username": USER, "password": self.password}, timeout=10
        )
        answer.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        return True

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One REST call. Airflow on SQLite answers 5xx now and then while its components write, so those are
        tried again; a run triggered twice (the first answer lost) is a 409, and fine."""
        for _ in range(5):
            answer = self.http.request(method, f"{self.url}/api/v2{path}", timeout=30, **kwargs)
            if answer.status_code < 500:
                break
            time.sleep(2)
        if method == "POST" and answer.status_code == 409:
            return None
        answer.raise_for_status()
        return answer.json()

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=params)

    def trigger(self, dag_id: str) -> str:
        run_id = f"make-ui-{dag_id.removeprefix('example_kling_')}-{int(time.time())}"
        self.call("POST", f"/dags/{dag_id}/dagRuns", json={"dag_run_id": run_id, "logical_date": None})
        return run_id

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        state = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")["state"]
        return None if state is None else str(state)


def main() -> int:
    # Ctrl-C (even where the shell started us with SIGINT ignored) and SIGTERM both stop everything.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    shutil.rmtree(UI_DIR, ignore_errors=True)
    home = UI_DIR / "airflow"
    home.mkdir(parents=True)
    port = int(os.environ.get("KLING_UI_PORT", "8080"))
    password = secrets.token_urlsafe(12)
    passwords = UI_DIR / "passwords.json"
    passwords.write_text(json.dumps({USER: password}))
    log = UI_DIR / "standalone.log"
    kling = EmulatorServer(EmulatorConfig(submitted_seconds=1.0, task_duration=5.0)).start()
    env = environment(home, port, kling.url, passwords)
    airflow = [sys.executable, "-m", "airflow"]
    standalone: subprocess.Popen[bytes] | None = None
    try:
        print(
            f"Starting the Kling emulator ({kling.url}) and airflow standalone (log: {log}) ...", flush=True
        )
        with log.open("ab") as out:
            for args in (["db", "migrate"], ["pools", "set", "kling", "3", "Kling concurrency"]):
                subprocess.run([*airflow, *args], env=env, stdout=out, stderr=subprocess.STDOUT, check=True)
            standalone = subprocess.Popen(
                [*airflow, "standalone"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        api = Airflow(f"http://127.0.0.1:{port}", password)
        wait("the api-server", api.login, 300, log)
        wanted = {*FINISHING, REVIEW}
        wait(
            "the example DAGs to be parsed",
            lambda: wanted <= {d["dag_id"] for d in api.get("/dags", limit=100)["dags"]},
            300,
            log,
        )
        runs = {dag_id: api.trigger(dag_id) for dag_id in (*FINISHING, REVIEW)}
        print(f"Triggered {', '.join(runs)}; generating (about a minute) ...", flush=True)
        wait(
            "the example runs",
            lambda: (
                all(api.run_state(d, runs[d]) in ("success", "failed") for d in FINISHING)
                and api.task_state(REVIEW, runs[REVIEW], "review") == "awaiting_input"
            ),
            600,
            log,
        )
        ui = api.url
        print(
            f"""
Airflow UI      {ui}   login: {USER} / {password}
Kling gallery   {ui}/plugin/kling
Your review     {ui}/dags/{REVIEW}/runs/{runs[REVIEW]}/tasks/review/required_actions
                (pick a variant: it is downloaded to {UI_DIR / "media"} and published with a manifest)
Kling emulator  {kling.url}   token: {DEFAULT_TOKEN}
Finished runs   {", ".join(f"{d} ({api.run_state(d, runs[d])})" for d in FINISHING)}

Ctrl-C stops Airflow and the emulator.""",
            flush=True,
        )
        while standalone.poll() is None:
            time.sleep(1)
        print(f"airflow standalone exited ({standalone.returncode}); see {log}")
        return 1
    except KeyboardInterrupt:
        print("\nStopping ...", flush=True)
        return 0
    finally:
        if standalone is not None:
            stop_group(standalone)
        kling.stop()


def stop_group(leader: subprocess.Popen[bytes]) -> None:
    """SIGTERM standalone and every component it started (one process group), SIGKILL what is left."""
    for sig, grace in ((signal.SIGTERM, 30.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(leader.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(leader.pid, 0)
            except ProcessLookupError:
                leader.poll()
                return
            leader.poll()  # reap the leader, or the group never empties
            time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())

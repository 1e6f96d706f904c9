"""The emulator's control API (``/emulator/...``) and its hardening, over real HTTP and a real CLI process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from airflow_provider_kling.testing import EmulatorServer
from tests.emulator.client import SECRET, TOKEN, Api, wait_for

REPO = Path(__file__).resolve().parents[2]


def control(server: EmulatorServer, method: str, name: str, **kwargs: object) -> requests.Response:
    return requests.request(method, f"{server.url}/emulator/{name}", timeout=5, **kwargs)  # type: ignore[arg-type]


def test_controls_over_http(server: EmulatorServer) -> None:
    config = control(server, "POST", "config", json={"task_duration": 2}).json()
    assert config["task_duration"] == 2
    bad = control(server, "POST", "config", json={"task_duraton": 2})
    assert bad.status_code == 400 and "task_duraton" in bad.json()["error"]
    for bad_config in (
        {"faults": {"teapot": 1}},
        {"fail_requests": [{"status": 500}]},
        {"fault_scope": "x"},
        [1],
    ):
        assert control(server, "POST", "config", json=bad_config).status_code == 400, bad_config
    empty = control(server, "POST", "config", headers={"Content-Type": "application/json"})
    assert empty.json()["task_duration"] == 2  # an empty JSON POST changes nothing
    task_id = Api(server).created_id("text2video", {"prompt": "x"})
    raw = control(server, "GET", f"tasks/{task_id}").json()
    assert raw["task_id"] == task_id and raw["task_status"] == "submitted"
    assert control(server, "GET", "tasks/1").status_code == 404
    assert control(server, "POST", "reset", json={}).json()["task_duration"] == 0.3
    assert server.task(task_id) is None
    assert control(server, "GET", "stats").json()["creates"] == 0


def test_config_answers_never_show_secrets(server: EmulatorServer) -> None:
    server.configure(access_keys={"ak-visible-id": SECRET}, api_tokens=[TOKEN, "sk-second-token"])
    answers = [
        control(server, "GET", "config"),
        control(server, "POST", "config", json={"task_duration": 1}),
        control(server, "POST", "reset", json={}),
    ]
    for response in answers:
        assert response.status_code == 200
        for secret in (TOKEN, "sk-second-token", SECRET, "ak-visible-id"):
            assert secret not in response.text
        assert response.json()["api_tokens"] == {"redacted": 2}
        assert response.json()["access_keys"] == {"redacted": 1}
    # Posting a redacted config back is refused instead of silently replacing the credentials.
    redacted = answers[0].json()
    assert control(server, "POST", "config", json={"api_tokens": redacted["api_tokens"]}).status_code == 400
    assert control(server, "POST", "config", json={"access_keys": redacted["access_keys"]}).status_code == 400
    assert server.configure()["api_tokens"] == [TOKEN, "sk-second-token"]  # in-process callers see them


@pytest.mark.parametrize(
    ("name", "headers"),
    [
        ("config", {"Content-Type": "text/plain"}),
        ("config", {"Content-Type": "application/x-www-form-urlencoded"}),
        ("config", {}),
        ("reset", {"Content-Type": "text/plain"}),
    ],
)
def test_only_json_posts_change_anything(server: EmulatorServer, name: str, headers: dict[str, str]) -> None:
    """A cross-site page can POST text/plain or a form without a preflight: that must change nothing."""
    task_id = Api(server).created_id("text2video", {"prompt": "x"})
    response = control(server, "POST", name, data=b'{"require_auth": false}', headers=headers)
    assert response.status_code == 415
    assert server.configure()["require_auth"] is True
    assert server.task(task_id) is not None
    assert Api(server, token=None).create("text2video", {"prompt": "x"}).status_code == 401


@pytest.mark.parametrize(
    ("method", "name", "allow"),
    [
        ("OPTIONS", "config", "GET, HEAD, POST"),
        ("PUT", "config", "GET, HEAD, POST"),
        ("DELETE", "stats", "GET, HEAD"),
        ("GET", "reset", "POST"),
        ("OPTIONS", "tasks/1", "GET, HEAD"),
    ],
)
def test_unsupported_methods_answer_405(server: EmulatorServer, method: str, name: str, allow: str) -> None:
    response = control(server, method, name, headers={"Origin": "https://evil.example"})
    assert response.status_code == 405 and response.headers["Allow"] == allow
    assert "Access-Control-Allow-Origin" not in response.headers


def test_unknown_controls_answer_404(server: EmulatorServer) -> None:
    for method in ("GET", "POST", "OPTIONS"):
        response = control(server, method, "nope", json={})
        assert response.status_code == 404 and "no such control" in response.json()["error"]


def _run_cli(tmp_path: Path, *args: str) -> tuple[int, str]:
    """Start ``kling-emulator`` with ``args``, wait until it listens, stop it; return (port, stderr)."""
    port_file = tmp_path / "port"
    port_file.unlink(missing_ok=True)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_kling.testing",
            "--port",
            "0",
            "--port-file",
            str(port_file),
            *args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        wait_for(lambda: port_file.exists() and port_file.read_text().strip(), timeout=15)
        port = int(port_file.read_text())
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert process.stderr is not None
        return port, process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()


def test_cli_warns_when_listening_beyond_loopback(tmp_path: Path) -> None:
    _, stderr = _run_cli(tmp_path, "--host", "0.0.0.0")
    assert stderr.startswith("warning: kling-emulator listens on '0.0.0.0', beyond loopback")
    _, stderr = _run_cli(tmp_path, "--host", "127.0.0.1")
    assert stderr == ""

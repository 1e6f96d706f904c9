"""A thin requests client of the emulator's Kling API, and test inputs, shared by the emulator's suites."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

import jwt
import requests

from airflow_provider_kling.testing import EmulatorServer
from airflow_provider_kling.testing.media import PNG_BYTES, make_png

TOKEN = "sk-emulator-token"
SECRET = "emulator-test-secret-key-of-32-bytes"
#: kling-api.md §2: task type -> "{action}/{path}"
PATHS = {
    **{
        name: f"videos/{name}"
        for name in (
            "text2video",
            "image2video",
            "multi-image2video",
            "video-extend",
            "lip-sync",
            "effects",
            "omni-video",
            "motion-control",
            "avatar/image2video",
            "multi-elements",
            "advanced-lip-sync",
        )
    },
    **{
        name: f"images/{name}"
        for name in (
            "generations",
            "kolors-virtual-try-on",
            "multi-image2image",
            "editing/expand",
            "omni-image",
        )
    },
    **{name: f"audio/{name}" for name in ("text-to-audio", "video-to-audio", "tts")},
}
IMAGE_URL = "https://example.com/a.png"
IMAGE_B64 = base64.b64encode(PNG_BYTES).decode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def png_b64(width: int, height: int) -> str:
    return b64(make_png(width, height))


def make_jwt(ak: str, sk: str, now: float, **overrides: Any) -> str:
    claims = {"iss": ak, "exp": int(now) + 1800, "nbf": int(now) - 5, **overrides}
    return jwt.encode(claims, sk, algorithm="HS256", headers={"typ": "JWT"})


class Api:
    """``prefix`` is "/v1" (Kling direct) or "/kling/v1" (gateway)."""

    def __init__(self, server: EmulatorServer, token: str | None = TOKEN, prefix: str = "/v1") -> None:
        self.server = server
        self.prefix = prefix
        self.session = requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def url(self, task_type: str, suffix: str = "") -> str:
        return f"{self.server.url}{self.prefix}/{PATHS[task_type]}{suffix}"

    def create(self, task_type: str, body: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.post(self.url(task_type), json=body, **kwargs)

    def query(self, task_type: str, ident: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.get(self.url(task_type, f"/{ident}"), **kwargs)

    def list(self, task_type: str, **params: Any) -> requests.Response:
        return self.session.get(self.url(task_type), params=params, timeout=10)

    def post(self, path: str, body: Any) -> requests.Response:
        """POST to a path under the prefix (e.g. ``videos/identify-face``)."""
        return self.session.post(f"{self.server.url}{self.prefix}/{path}", json=body, timeout=10)

    def get(self, path: str, **params: Any) -> requests.Response:
        """GET a path from the server root (e.g. ``/account/costs``)."""
        return self.session.get(self.server.url + path, params=params, timeout=10)

    def created_id(self, task_type: str, body: Any) -> str:
        response = self.create(task_type, body)
        assert response.status_code == 200, response.text
        return str(response.json()["data"]["task_id"])

    def data(self, task_type: str, ident: str) -> dict[str, Any]:
        response = self.query(task_type, ident)
        assert response.status_code == 200, response.text
        return dict(response.json()["data"])


def jump(server: EmulatorServer, seconds: float) -> None:
    """Move the emulator clock forward instead of sleeping."""
    offset = server.configure()["clock_offset"]
    server.configure(clock_offset=offset + seconds)


def wait_for(predicate: Callable[[], Any], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)

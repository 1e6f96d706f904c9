"""Fixtures of the event-driven tests: the plugin's app (TestClient, or uvicorn on loopback), a connection
with the callback extras, a completion asset in Airflow's DB, and a receiver that keeps Kling's callbacks
exactly as they were sent (headers and raw bytes) so a test can deliver them to the plugin itself."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_1_PLUS

from airflow_provider_kling.callbacks import CALLBACK_PREFIX
from airflow_provider_kling.testing import EmulatorServer
from tests.loopback import LoopbackServer
from tests.operators.helpers import RequestRecorder

CALLBACK_SECRET = "cb-secret-4f1a9c2e7b3d5a60e8c1f2a3b4c5d6e7"
WEBHOOK_KEY = b"kling-webhook-key-for-tests-0123"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(WEBHOOK_KEY).decode()
ASSET = "kling_test_completions"

needs_plugin = pytest.mark.skipif(
    not AIRFLOW_V_3_1_PLUS, reason="the callback plugin needs Airflow 3.1+ (its API server serves it)"
)


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    raw: bytes


class Receiver:
    """Stands for the Airflow API server from Kling's side: keeps every POST as it came, answers 200."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.lock = threading.Lock()

        async def handle(request: web.Request) -> web.Response:
            raw = await request.read()
            with self.lock:
                self.deliveries.append(Delivery(request.path, dict(request.headers), raw))
            return web.Response(status=200)

        self.server = LoopbackServer(handle)
        self.url = self.server.url

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Delivery]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if len(self.deliveries) >= count:
                    return list(self.deliveries)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} callbacks, got {len(self.deliveries)}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    recv = Receiver()
    yield recv
    recv.server.stop()


@pytest.fixture
def recorder(emulator: EmulatorServer) -> Iterator[RequestRecorder]:
    """A loopback proxy in front of the emulator that records each request (point a connection at it)."""
    with RequestRecorder(upstream=emulator.url) as proxy:
        yield proxy


@pytest.fixture
def events_conn(kling_conn: Callable[..., str], receiver: Receiver) -> Callable[..., str]:
    """``kling_default`` with the callback extras (callbacks go to the receiver unless told otherwise)."""

    def make(**extra: Any) -> str:
        extra.setdefault("callback_base_url", receiver.url)
        extra.setdefault("callback_secret", CALLBACK_SECRET)
        return kling_conn(**extra)

    make()
    return make


def plugin_path(path: str) -> str:
    """A callback URL's path as the plugin's own app sees it (the API server mounts it at the prefix)."""
    path = urlsplit(path).path
    assert path.startswith(CALLBACK_PREFIX + "/"), path
    return path[len(CALLBACK_PREFIX) :]


@pytest.fixture
def asset(airflow_db: Path) -> Iterator[str]:
    """The completion asset, known to Airflow (as a DAG scheduled on it would make it); its events are
    removed afterwards."""
    from airflow.models.asset import AssetActive, AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import delete, select

    with create_session() as session:
        model = session.scalar(select(AssetModel).where(AssetModel.name == ASSET))
        if model is None:
            model = AssetModel(name=ASSET, uri=ASSET)
            session.add(model)
            session.flush()
            session.add(AssetActive.for_asset(model))
        asset_id = model.id
    yield ASSET
    with create_session() as session:
        session.execute(delete(AssetEvent).where(AssetEvent.asset_id == asset_id))


def recorded_events(name: str = ASSET) -> list[dict[str, Any]]:
    """Every event on the asset: its extra plus its source columns."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(AssetEvent)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.name == name)
            .order_by(AssetEvent.id)
        ).scalars()
        return [
            {**e.extra, "source": (e.source_dag_id, e.source_run_id, e.source_task_id, e.source_map_index)}
            for e in rows
        ]


@pytest.fixture
def client() -> Any:
    """The plugin's FastAPI app, as the issue names it: ``KlingCallbackPlugin.fastapi_apps[0]["app"]``."""
    from fastapi.testclient import TestClient

    from airflow_provider_kling.plugins.callbacks import KlingCallbackPlugin

    assert KlingCallbackPlugin is not None
    with TestClient(KlingCallbackPlugin.fastapi_apps[0]["app"]) as test_client:
        yield test_client


class PluginServer:
    """The plugin's app served by uvicorn on loopback, mounted at its prefix as the API server mounts it."""

    def __init__(self) -> None:
        import uvicorn

        from tests.callbacks.serve_plugin import mounted_app

        config = uvicorn.Config(mounted_app(), host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.time() + 10
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def plugin_server(airflow_db: Path) -> Iterator[PluginServer]:
    server = PluginServer()
    yield server
    server.stop()


def wait_until(check: Callable[[], Any], timeout: float = 15.0, what: str = "the condition") -> Any:
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)

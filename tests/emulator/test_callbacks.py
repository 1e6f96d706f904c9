"""Callbacks (kling-api.md §7): every status change POSTed, optional Standard Webhooks signatures, faults."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from aiohttp import web

from airflow_provider_kling.testing import EmulatorServer
from tests.emulator.client import Api, wait_for
from tests.loopback import LoopbackServer

KEY = b"emulator-webhook-key-0123456789ab"
WHSEC = "whsec_" + base64.b64encode(KEY).decode()


class Receiver:
    """A loopback server that records each callback: headers, raw body, parsed body."""

    def __init__(self, status: int = 200) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()

        async def handle(request: web.Request) -> web.Response:
            raw = await request.read()
            with self.lock:
                self.calls.append((dict(request.headers), raw))
            return web.Response(status=status)

        self.server = LoopbackServer(handle)
        self.url = self.server.url + "/cb"

    @property
    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(raw) for _, raw in self.calls]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    recv = Receiver()
    yield recv
    recv.server.stop()


def verify(key: bytes, headers: dict[str, str], raw: bytes) -> bool:
    """Standard Webhooks verification, written from the spec (not from the emulator)."""
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + raw
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(part == f"v1,{expected}" for part in headers["webhook-signature"].split(" "))


def test_callbacks_post_each_transition_in_order(
    server: EmulatorServer, api: Api, receiver: Receiver
) -> None:
    task_id = api.created_id("generations", {"prompt": "x", "callback_url": receiver.url})
    wait_for(lambda: len(receiver.calls) == 3)
    bodies = receiver.bodies
    assert [b["task_status"] for b in bodies] == ["submitted", "processing", "succeed"]
    assert all(b["task_id"] == task_id for b in bodies)
    assert bodies[2]["task_result"]["images"][0]["url"].startswith(server.url)
    assert bodies[2]["final_unit_deduction"] == "0.25"
    assert bodies[0]["updated_at"] < bodies[1]["updated_at"] < bodies[2]["updated_at"]
    headers = receiver.calls[0][0]
    assert headers["Content-Type"] == "application/json" and "webhook-signature" not in headers  # unsigned
    time.sleep(0.1)
    assert len(receiver.calls) == 3 and server.stats()["callbacks_sent"] == 3


def test_failed_callbacks_are_counted_not_retried(server: EmulatorServer, api: Api) -> None:
    failing = Receiver(status=500)
    try:
        server.configure(fail_next={"count": 1, "message": "nope"}, submitted_seconds=0)
        api.created_id("text2video", {"prompt": "x", "callback_url": failing.url})
        wait_for(lambda: server.stats()["callbacks_failed"] == 2)
        time.sleep(0.1)
        assert [b["task_status"] for b in failing.bodies] == ["processing", "failed"]
        assert failing.bodies[1]["task_status_msg"] == "nope"
    finally:
        failing.server.stop()


@pytest.mark.parametrize(("secret", "key"), [(WHSEC, KEY), ("a raw shared secret", b"a raw shared secret")])
def test_signed_callbacks(
    server: EmulatorServer, api: Api, receiver: Receiver, secret: str, key: bytes
) -> None:
    server.configure(webhook_secret=secret, clock_offset=1000)
    api.created_id("text2video", {"prompt": "x", "callback_url": receiver.url})
    wait_for(lambda: len(receiver.calls) == 3)
    ids = []
    for headers, raw in receiver.calls:
        assert verify(key, headers, raw)
        assert not verify(key, headers, raw + b" ")  # any change to the body breaks it
        assert not verify(b"another key", headers, raw)
        assert abs(int(headers["webhook-timestamp"]) - (time.time() + 1000)) < 5  # the emulator clock
        ids.append(headers["webhook-id"])
    assert len(set(ids)) == 3 and all(i.startswith("msg_") for i in ids)
    config = requests.get(f"{server.url}/emulator/config", timeout=5)
    assert secret not in config.text and config.json()["webhook_secret"] == {"redacted": 1}


def test_bad_webhook_secrets_are_refused(server: EmulatorServer) -> None:
    for secret in ("whsec_not*base64", "", 7):
        response = requests.post(f"{server.url}/emulator/config", json={"webhook_secret": secret}, timeout=5)
        assert response.status_code == 400 and "webhook_secret" in response.json()["error"]


def test_wrapped_callbacks(server: EmulatorServer, api: Api, receiver: Receiver) -> None:
    server.configure(callback_wrapped=True)
    task_id = api.created_id("tts", {"text": "hi", "voice_id": "v", "callback_url": receiver.url})
    wait_for(lambda: len(receiver.calls) == 3)
    for body in receiver.bodies:
        assert body["code"] == 0 and body["message"] == "SUCCEED" and body["data"]["task_id"] == task_id
    assert receiver.bodies[-1]["data"]["task_result"]["audios"][0]["url_mp3"].endswith("/0.mp3")


def _faulty_run(server: EmulatorServer, api: Api, receiver: Receiver, seed: int) -> list[tuple[int, str]]:
    """Run 20 tasks with callback faults; return what arrived, as sorted (creation index, status)."""
    server.reset()
    with receiver.lock:
        receiver.calls.clear()
    server.configure(seed=seed, callback_drop_rate=0.3, callback_duplicate_rate=0.2, webhook_secret=WHSEC)
    for i in range(20):
        api.created_id("text2video", {"prompt": f"p{i}", "callback_url": receiver.url})
    newest = api.list("text2video").json()["data"][0]["task_id"]
    wait_for(lambda: server.task(newest)["task_status"] == "succeed")  # type: ignore[index]
    time.sleep(0.2)  # the last tick's deliveries
    stats = server.stats()
    order = {task["task_id"]: i for i, task in enumerate(api.list("text2video").json()["data"][::-1])}
    arrived = sorted((order[body["task_id"]], body["task_status"]) for body in receiver.bodies)
    assert len(arrived) == 60 - stats["callbacks_dropped"] + stats["callbacks_duplicated"]
    assert stats["callbacks_sent"] == len(arrived)
    assert stats["callbacks_dropped"] > 0 and stats["callbacks_duplicated"] > 0
    return arrived


def test_callback_faults_are_seeded_and_counted(server: EmulatorServer, api: Api, receiver: Receiver) -> None:
    first = _faulty_run(server, api, receiver, seed=3)
    assert _faulty_run(server, api, receiver, seed=3) == first
    # A duplicate is the same message twice: same task, status and webhook-id.
    ids: dict[tuple[str, str], set[str]] = {}
    for (headers, _), body in zip(receiver.calls, receiver.bodies, strict=True):
        ids.setdefault((body["task_id"], body["task_status"]), set()).add(headers["webhook-id"])
    assert all(len(found) == 1 for found in ids.values())
    assert len(receiver.calls) - len(ids) == server.stats()["callbacks_duplicated"]
    assert _faulty_run(server, api, receiver, seed=4) != first

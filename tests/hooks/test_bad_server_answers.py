"""Bad answers from a server (or a gateway in front of Kling): a clear error, no crash, no hang.

A scripted loopback server stands in for a misbehaving deployment, so each answer is exactly what it says.
"""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from aiohttp import web

from airflow_provider_kling import exceptions as exc
from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.retry import RetryPolicy
from airflow_provider_kling.triggers.kling import KlingTaskTrigger
from tests.conftest import TOKEN
from tests.loopback import LoopbackServer

TASK = {"task_id": "867283741759111202", "task_status": "processing", "created_at": 1, "updated_at": 1}


def envelope(data=None, code=0, message="SUCCEED"):
    doc = {"code": code, "message": message, "request_id": "req-bad-1"}
    if data is not None:
        doc["data"] = data
    return json.dumps(doc).encode()


ANSWERS = {
    "html_error_page": (502, "text/html", b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"),
    "truncated_json": (200, "application/json", envelope(TASK)[:40]),
    "unexpected_code": (200, "application/json", envelope(code=4242, message="something new")),
    "missing_data": (200, "application/json", envelope()),
    "gateway_error_body": (401, "application/json", b'{"error": {"message": "invalid key", "type": "auth"}}'),
    "not_an_object": (200, "application/json", b'["a", "list"]'),
    "data_not_a_task": (200, "application/json", envelope({"hello": "world"})),
    "empty_body": (500, "text/plain", b""),
    "nesting_bomb": (200, "application/json", b"[" * 100_000),
    "task_status_not_a_string": (200, "application/json", envelope({**TASK, "task_status": []})),
    "task_result_not_an_object": (
        200,
        "application/json",
        envelope({**TASK, "task_status": "succeed", "task_result": []}),
    ),
    "string_code_1303": (429, "application/json", envelope(code="1303", message="parallel task over limit")),
}
EXPECTED = {
    "html_error_page": (exc.KlingResponseError, "502 Bad Gateway"),
    "truncated_json": (exc.KlingResponseError, "not JSON"),
    "unexpected_code": (exc.KlingApiError, "4242.*something new"),
    "missing_data": (exc.KlingResponseError, "code 0 but no data"),
    "gateway_error_body": (exc.KlingAuthError, "gateway auth: invalid key"),
    "not_an_object": (exc.KlingResponseError, "not a JSON object"),
    "data_not_a_task": (exc.KlingResponseError, "not a task object"),
    "empty_body": (exc.KlingResponseError, "empty body"),
    "nesting_bomb": (exc.KlingMalformedResponseError, "nested too deeply"),
    "task_status_not_a_string": (exc.KlingResponseError, "task_status is a list, expected a string"),
    "task_result_not_an_object": (exc.KlingResponseError, "task_result is a list, expected an object"),
    "string_code_1303": (exc.KlingConcurrencyLimitError, "1303.*parallel task over limit"),
}


class ScriptedServer:
    """Answers every request with ``self.answer`` = (status, content type, body), or the next of ``queue``;
    counts requests."""

    def __init__(self):
        self.answer = (200, "application/json", envelope(TASK))
        self.queue: list[tuple[int, str, bytes, dict[str, str]]] = []
        self.requests = 0
        self.server = LoopbackServer(self.handle)
        self.url = self.server.url

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        status, content_type, body, headers = self.queue.pop(0) if self.queue else (*self.answer, {})
        return web.Response(status=status, body=body, headers={"Content-Type": content_type, **headers})

    def stop(self):
        self.server.stop()


@pytest.fixture
def server(monkeypatch):
    scripted = ScriptedServer()
    monkeypatch.setenv(
        "AIRFLOW_CONN_KLING_DEFAULT",
        json.dumps({"conn_type": "kling", "host": scripted.url, "password": TOKEN}),
    )
    yield scripted
    scripted.stop()


FAST = RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.02, min_delay=0.0)


@pytest.mark.parametrize("kind", sorted(ANSWERS))
def test_sync_hook_gives_a_clear_error(server, kind):
    server.answer = ANSWERS[kind]
    cls, match = EXPECTED[kind]
    with pytest.raises(cls, match=match) as info:
        KlingHook(retry_policy=FAST).get_task("text2video", TASK["task_id"])
    assert TOKEN not in str(info.value)
    retried = FAST.is_retryable(info.value)
    assert server.requests == (1 + FAST.max_retries if retried else 1)


@pytest.mark.parametrize("kind", sorted(ANSWERS))
async def test_trigger_ends_with_an_error_event_in_bounded_time(server, kind):
    server.answer = ANSWERS[kind]
    trigger = KlingTaskTrigger(
        "text2video", TASK["task_id"], poll_interval=0.05, max_consecutive_failures=3, backoff_base=0.01
    )
    events = await asyncio.wait_for(_collect(trigger), timeout=10)
    assert [e["status"] for e in events] == ["error"]
    _, match = EXPECTED[kind]
    assert re.search(match, events[0]["message"])
    assert server.requests <= 3


async def _collect(trigger):
    return [event.payload async for event in trigger.run()]


async def test_an_unknown_task_status_is_an_error_not_an_endless_wait(server):
    server.answer = (200, "application/json", envelope({**TASK, "task_status": "rendering"}))
    trigger = KlingTaskTrigger("text2video", TASK["task_id"], poll_interval=0.05)
    (event,) = await asyncio.wait_for(_collect(trigger), timeout=10)
    assert event["status"] == "error" and "unknown task_status 'rendering'" in event["message"]
    assert server.requests == 1


def test_json_with_a_wrong_content_type_is_still_read(server):
    server.answer = (200, "text/html; charset=utf-8", envelope({**TASK, "task_status": "succeed"}))
    assert KlingHook(retry_policy=FAST).get_task("text2video", TASK["task_id"])["task_status"] == "succeed"


def test_a_string_code_zero_is_success(server):
    server.answer = (200, "application/json", envelope({**TASK, "task_status": "succeed"}, code="0"))
    assert KlingHook(retry_policy=FAST).get_task("text2video", TASK["task_id"])["task_status"] == "succeed"


async def test_a_unicode_digit_retry_after_is_a_transient_failure_for_the_trigger(server):
    """``Retry-After: ²`` once made the hook raise a raw ValueError: an error event after one poll."""
    server.queue = [
        (503, "application/json", envelope(code=5001, message="maintenance"), {"Retry-After": "²"})
    ]
    server.answer = (200, "application/json", envelope({**TASK, "task_status": "succeed"}))
    trigger = KlingTaskTrigger(
        "text2video", TASK["task_id"], poll_interval=0.05, max_consecutive_failures=3, backoff_base=0.01
    )
    events = await asyncio.wait_for(_collect(trigger), timeout=10)
    assert [e["status"] for e in events] == ["success"]
    assert server.requests == 2

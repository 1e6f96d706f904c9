"""The callback plugin's app under FastAPI's TestClient: Kling's real callbacks (sent by the emulator to a
receiver, then delivered here byte for byte) become exactly one Asset event per task, confirmed by a query of
Kling; tampered tokens, forged bodies, oversized bodies, bad signatures and replays record nothing."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from airflow_provider_kling.callbacks import CallbackTarget, callback_url, sign_webhook
from tests.callbacks.conftest import (
    CALLBACK_SECRET,
    WEBHOOK_SECRET,
    Delivery,
    needs_plugin,
    plugin_path,
    recorded_events,
)

pytestmark = needs_plugin


def make_target(asset: str, **changes: Any) -> CallbackTarget:
    fields: dict[str, Any] = {
        "conn_id": "kling_default",
        "asset_name": asset,
        "asset_uri": asset,
        "task_type": "text2video",
        "external_task_id": f"ext-{uuid.uuid4().hex[:16]}",
        "dag_id": "submit_dag",
        "run_id": f"manual__{uuid.uuid4().hex[:8]}",
        "task_id": "generate",
        "map_index": 3,
    }
    return CallbackTarget(**{**fields, **changes})


def submit(target: CallbackTarget, base_url: str, **fields: Any) -> str:
    """Create a Kling task whose callbacks name ``target``, as the operator would."""
    from airflow_provider_kling.hooks.kling import KlingHook

    body = {
        "prompt": "a lighthouse in a storm",
        "external_task_id": target.external_task_id,
        "callback_url": callback_url(base_url, CALLBACK_SECRET, target),
        **fields,
    }
    return str(KlingHook().create_task(target.task_type, body)["task_id"])


def deliver(client: Any, delivery: Delivery, **changes: Any) -> Any:
    kept = ("webhook-", "content-type")
    headers = {k: v for k, v in delivery.headers.items() if k.lower().startswith(kept)}
    return client.post(
        changes.get("path", plugin_path(delivery.path)),
        content=changes.get("raw", delivery.raw),
        headers=changes.get("headers", headers),
    )


def queries(emulator: Any, task_id: str) -> int:
    return int(emulator.stats()["queries_by_task"].get(task_id, 0))


def test_callbacks_are_hints_and_one_event_is_recorded(emulator, events_conn, receiver, asset, client):
    target = make_target(asset)
    task_id = submit(target, receiver.url)
    deliveries = receiver.wait_for(3)
    answers = [deliver(client, d) for d in deliveries]

    assert [json.loads(d.raw)["task_status"] for d in deliveries] == ["submitted", "processing", "succeed"]
    assert [(a.status_code, a.json()["result"]) for a in answers] == [
        (200, "ignored"),
        (200, "ignored"),
        (202, "accepted"),
    ]
    task = emulator.task(task_id)
    assert recorded_events() == [
        {
            "kling_event": 1,
            "task_id": task_id,
            "task_type": "text2video",
            "status": "succeed",
            "task_status_msg": "",
            "urls": [f"{emulator.url}/media/{task_id}/0.mp4"],
            "external_task_id": target.external_task_id,
            "units": task["final_unit_deduction"],
            "dag_id": "submit_dag",
            "run_id": target.run_id,
            "airflow_task_id": "generate",
            "map_index": 3,
            "source": ("submit_dag", target.run_id, "generate", 3),
        }
    ]
    # The running callbacks made no query; the terminal one made exactly one, to confirm it.
    assert queries(emulator, task_id) == 1

    # Kling's duplicate, and a replay later on: acknowledged, nothing recorded, not even a query.
    for _ in range(2):
        assert deliver(client, deliveries[-1]).status_code == 202
    assert len(recorded_events()) == 1
    assert queries(emulator, task_id) == 1


def test_wrapped_callbacks_and_failed_generations(emulator, events_conn, receiver, asset, client):
    emulator.configure(callback_wrapped=True, fail_next={"count": 1, "message": "Image pixel is invalid"})
    target = make_target(asset)
    task_id = submit(target, receiver.url)
    deliveries = receiver.wait_for(3)
    assert json.loads(deliveries[-1].raw)["data"]["task_status"] == "failed"
    assert [deliver(client, d).status_code for d in deliveries] == [200, 200, 202]
    (event,) = recorded_events()
    assert (event["task_id"], event["status"], event["task_status_msg"]) == (
        task_id,
        "failed",
        "Image pixel is invalid",
    )
    assert event["urls"] == [] and event["units"] == "0"


def test_a_forged_succeed_for_a_running_task_records_nothing(emulator, events_conn, receiver, asset, client):
    emulator.configure(task_duration=3)
    target = make_target(asset)
    task_id = submit(target, receiver.url)
    first = receiver.wait_for(1)[0]
    forged = {
        "task_id": task_id,
        "task_status": "succeed",
        "task_result": {"videos": [{"id": "x", "url": "https://evil.example/forged.mp4"}]},
    }
    answer = deliver(client, first, raw=json.dumps(forged).encode())
    assert answer.status_code == 202  # acknowledged; Kling's own answer decides
    assert recorded_events() == []
    assert queries(emulator, task_id) == 1

    deliveries = receiver.wait_for(3)
    assert deliver(client, deliveries[-1]).status_code == 202
    (event,) = recorded_events()
    assert event["urls"] == [f"{emulator.url}/media/{task_id}/0.mp4"]  # Kling's URL, not the forged one


def test_a_valid_url_cannot_be_pointed_at_another_task(emulator, events_conn, receiver, asset, client):
    mine, other = make_target(asset), make_target(asset)
    submit(mine, receiver.url)
    other_id = submit(other, receiver.url)
    deliveries = receiver.wait_for(6)
    mine_url = next(d for d in deliveries if d.path == plugin_path_of(mine))
    other_done = next(d for d in deliveries if d.path == plugin_path_of(other) and b'"succeed"' in d.raw)
    # Task "other"'s real, finished body sent to task "mine"'s URL: the query shows another external id.
    assert deliver(client, other_done, path=plugin_path(mine_url.path)).status_code == 202
    assert recorded_events() == []
    assert queries(emulator, other_id) == 1


def plugin_path_of(target: CallbackTarget) -> str:
    from urllib.parse import urlsplit

    return urlsplit(callback_url("http://x", CALLBACK_SECRET, target)).path


def test_wrong_or_missing_tokens_are_refused(emulator, events_conn, receiver, asset, client):
    target = make_target(asset)
    task_id = submit(target, receiver.url)
    done = receiver.wait_for(3)[-1]
    path = plugin_path(done.path)
    base, token = path.rsplit("/", 1)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    someone_else = make_target(asset, dag_id="another_dag")
    cases = {
        "tampered token": (f"{base}/{flipped}", 403),
        "token of another secret": (f"{base}/{callback_token_with('x' * 32, base)}", 403),
        "token moved to another target": (f"/v1/callback/{someone_else.encode()}/{token}", 403),
        "missing token": (base, 401),
        "garbage target": (f"/v1/callback/not-a-target/{token}", 403),
    }
    for name, (bad_path, status) in cases.items():
        answer = deliver(client, done, path=bad_path)
        assert answer.status_code == status, name
    assert recorded_events() == []
    assert queries(emulator, task_id) == 0

    # A connection without callback_secret accepts no callback at all.
    events_conn(callback_secret=None)
    assert deliver(client, done).status_code == 403
    assert recorded_events() == [] and queries(emulator, task_id) == 0


def callback_token_with(secret: str, base: str) -> str:
    from airflow_provider_kling.callbacks import callback_token

    return callback_token(secret, base.rsplit("/", 1)[1])


def test_oversized_bodies_are_refused(emulator, events_conn, receiver, asset, client):
    target = make_target(asset)
    submit(target, receiver.url)
    done = receiver.wait_for(3)[-1]
    body = json.loads(done.raw)
    body["padding"] = "x" * (64 * 1024)
    raw = json.dumps(body).encode()
    assert deliver(client, done, raw=raw).status_code == 413
    # Without a Content-Length (chunked), the cap holds while the body arrives.
    chunked = client.post(plugin_path(done.path), content=iter([raw[:40_000], raw[40_000:]]))
    assert chunked.status_code == 413
    assert recorded_events() == []


def test_bodies_that_name_no_task_are_refused(emulator, events_conn, receiver, asset, client):
    target = make_target(asset)
    submit(target, receiver.url)
    done = receiver.wait_for(3)[-1]
    bad = (b"not json", b"[1, 2]", b'{"task_status": "succeed"}', b'{"task_id": "../x", "task_status": 1}')
    for raw in bad:
        assert deliver(client, done, raw=raw).status_code == 400
    assert recorded_events() == []


def test_signed_callbacks_are_verified(emulator, events_conn, receiver, asset, client):
    emulator.configure(webhook_secret=WEBHOOK_SECRET)
    events_conn(webhook_secret=WEBHOOK_SECRET)
    target = make_target(asset)
    task_id = submit(target, receiver.url)
    deliveries = receiver.wait_for(3)
    done = deliveries[-1]
    unsigned = {"content-type": "application/json"}
    old = time.time() - 600
    stale = {**unsigned, **sign_webhook(WEBHOOK_SECRET, done.headers["webhook-id"], done.raw, old)}
    wrong_key = {**unsigned, **sign_webhook("whsec_" + "QUJD" * 8, "msg_1", done.raw)}
    for headers in (unsigned, stale, wrong_key):
        assert deliver(client, done, headers=headers).status_code == 401
    # The signature covers the body: Kling's headers on a changed body fail.
    changed = done.raw.replace(b'"succeed"', b'"failed"')
    assert deliver(client, done, raw=changed).status_code == 401
    assert recorded_events() == [] and queries(emulator, task_id) == 0

    assert [deliver(client, d).status_code for d in deliveries] == [200, 200, 202]
    assert [e["task_id"] for e in recorded_events()] == [task_id]


def test_an_unknown_asset_records_nothing_and_answers(emulator, events_conn, receiver, airflow_db, client):
    target = make_target("an_asset_no_dag_declares")
    task_id = submit(target, receiver.url)
    done = receiver.wait_for(3)[-1]
    assert deliver(client, done).status_code == 202
    assert recorded_events("an_asset_no_dag_declares") == []
    assert queries(emulator, task_id) == 1


def test_ping(client):
    assert client.get("/v1/ping").json() == {"result": "pong"}


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_only_post_delivers(client, method):
    assert getattr(client, method)("/v1/callback/x/y").status_code == 405

"""Issue 12's "done when": every error path of the transport, connection and download code, provoked with a
Bearer token, an access key / secret key pair (so JWTs) and credentials inside URLs, leaves no secret in the
captured logs, the exception messages, the trigger's events or the download operator's rendered fields.

The servers are hostile on purpose: a gateway that echoes the ``Authorization`` header into its error pages
(HTTP 502, so every failure is retried and logged first), one that echoes it inside Kling's ``message``
field, a media host whose redirects and errors carry the URL's credentials.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import replace

import pytest
from aiohttp import web

from airflow_provider_kling.exceptions import KlingError
from airflow_provider_kling.hooks.connection import KlingCredentials
from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.operators.download import KlingDownloadOperator
from airflow_provider_kling.retry import RetryPolicy
from airflow_provider_kling.triggers.kling import KlingTaskTrigger
from tests.conftest import ACCESS_KEY, SECRET_KEY, TOKEN, connection_json
from tests.loopback import LoopbackServer

TASK_ID = "867283741759111202"
HOST_PASSWORD = "host-pa55word-9a8b7c6d5e"
CDN_PASSWORD = "cdn-pa55word-1f2e3d4c5b"
CDN_SIGNATURE = "cdn-signature-77aa88bb99cc"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")
FAST = RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.02, min_delay=0.0)
TRIGGER = {"poll_interval": 0.05, "max_consecutive_failures": 3, "backoff_base": 0.01}


class EchoGateway:
    """Echoes the Authorization header it gets: in a 502 HTML page, or in Kling's message (1003 / 1002)."""

    def __init__(self):
        self.authorizations: list[str] = []
        self.server = LoopbackServer(self.handle)
        self.url = self.server.url

    async def handle(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        self.authorizations.append(auth)
        token = auth.partition(" ")[2]
        if request.path.startswith("/clock"):
            body = {"code": 1003, "message": f"token {token} is not yet valid", "request_id": token}
            return web.json_response(body, status=401)
        if request.path.startswith("/kling-message"):
            body = {"code": 1002, "message": f"bad Authorization: {auth}", "request_id": "r"}
            return web.json_response(body, status=401)
        page = f"<html><h1>502 Bad Gateway</h1><pre>Authorization: {auth}\ntoken={token}</pre></html>"
        return web.Response(status=502, text=page, content_type="text/html")


class MediaHost:
    """Redirects ``/to-file`` to file:// (credentials in the Location), answers 503 then 403 elsewhere."""

    def __init__(self):
        self.server = LoopbackServer(self.handle)
        self.url = self.server.url.replace("http://", f"http://cdn-user:{CDN_PASSWORD}@")

    async def handle(self, request: web.Request) -> web.Response:
        if request.path == "/to-file":
            location = f"file://cdn-user:{CDN_PASSWORD}@localhost/etc/passwd?sig={CDN_SIGNATURE}"
            return web.Response(status=302, headers={"Location": location})
        if request.path == "/busy.mp4":
            return web.Response(status=503, text=f"busy; your signature was {CDN_SIGNATURE}")
        return web.Response(status=403, text=f"forbidden: {request.query_string}")


@pytest.fixture
def servers():
    gateway, media = EchoGateway(), MediaHost()
    yield gateway, media
    gateway.server.stop()
    media.server.stop()


def connect(monkeypatch, conn_id, host, **fields):
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection_json(host, **fields))
    return conn_id


async def _trigger_events(conn_id):
    trigger = KlingTaskTrigger("text2video", TASK_ID, kling_conn_id=conn_id, **TRIGGER)
    return [event.payload async for event in trigger.run()]


async def _async_call(conn_id, call, *args):
    hook = KlingHook(conn_id, retry_policy=FAST)
    try:
        return await getattr(hook, call)(*args)
    finally:
        await hook.aclose()


def provoke_every_error_path(monkeypatch, gateway, media, tmp_path):
    """Run every failing path once; returns what the world sees: (messages and events, rendered fields)."""
    seen: list[str] = []
    fields: list[str] = []

    def expect_failure(run, *args, **kwargs):
        try:
            outcome = run(*args, **kwargs)
        except (KlingError, ValueError) as err:
            seen.append(str(err))
            seen.append(repr(err))
            return
        raise AssertionError(f"{run} did not fail: {outcome!r}")

    token_conn = connect(monkeypatch, "sec_token", gateway.url + "/kling", password=f"  {TOKEN}\n")
    jwt_conn = connect(
        monkeypatch, "sec_jwt", gateway.url, login=f"{ACCESS_KEY}\n", password=f"{SECRET_KEY} "
    )
    for conn_id in (token_conn, jwt_conn):
        hook = KlingHook(conn_id, retry_policy=FAST)
        expect_failure(hook.get_task, "text2video", TASK_ID)  # 502 with the echo, retried and logged
        expect_failure(hook.list_tasks, "text2video")
        expect_failure(hook.create_task, "text2video", {"prompt": "p"}, validate=False)  # unknown outcome
        expect_failure(
            hook.create_task, "text2video", {"prompt": "p", "external_task_id": "ext-s"}, validate=False
        )
        seen.append(hook.test_connection()[1])
        expect_failure(asyncio.run, _async_call(conn_id, "aget_task", "text2video", TASK_ID))
        expect_failure(asyncio.run, _async_call(conn_id, "afind_task", "text2video", "ext-s"))
        seen.extend(json.dumps(event) for event in asyncio.run(_trigger_events(conn_id)))
    for prefix in ("/clock", "/kling-message"):  # secrets inside Kling's message and request_id fields
        conn_id = connect(monkeypatch, "sec_msg", gateway.url + prefix, login=ACCESS_KEY, password=SECRET_KEY)
        expect_failure(KlingHook(conn_id, retry_policy=FAST).list_tasks, "text2video")
        expect_failure(asyncio.run, _async_call(conn_id, "alist_tasks", "text2video"))
    # Connection problems: the token in the host's user-info, inner control characters, a broken header.
    host = gateway.url.replace("http://", f"http://{TOKEN}:{HOST_PASSWORD}@")
    for bad_fields in (
        {"host": host},
        {"password": f"{TOKEN}\r\nX-Evil: 1"},
        {"login": f"{ACCESS_KEY}\t", "password": SECRET_KEY},
    ):
        conn_id = connect(monkeypatch, "sec_bad", **{"host": gateway.url, **bad_fields})
        expect_failure(KlingHook(conn_id).list_tasks, "text2video")
        seen.append(KlingHook(conn_id).test_connection()[1])
        seen.extend(json.dumps(event) for event in asyncio.run(_trigger_events(conn_id)))
    broken = KlingHook(token_conn, retry_policy=FAST)
    broken._settings = replace(
        broken.get_settings(), credentials=KlingCredentials(token=f"{TOKEN}\nX: {SECRET_KEY}")
    )
    expect_failure(broken.list_tasks, "text2video")
    refused = connect(monkeypatch, "sec_refused", "http://127.0.0.1:9", password=TOKEN)
    expect_failure(KlingHook(refused, retry_policy=FAST).list_tasks, "text2video")
    # Downloads: credentials and signatures in URLs, in a redirect, in a retried 503 and a 403.
    urls = [
        f"{media.url}/busy.mp4?sig={CDN_SIGNATURE}",
        f"{media.url}/to-file",
        f"{media.url}/x.mp4?sig={CDN_SIGNATURE}",
    ]
    for url in urls:
        operator = KlingDownloadOperator(
            task_id="dl",
            urls=["{{ params.url }}"],
            destination=str(tmp_path),
            max_retries=1,
            retry_delay=0.01,
        )
        operator.render_template_fields({"params": {"url": url}})
        fields.extend(str(getattr(operator, name)) for name in operator.template_fields)
        expect_failure(operator.execute, {"outlet_events": {}})
    return seen, fields


def test_no_secret_reaches_logs_errors_events_or_rendered_fields(
    monkeypatch, servers, tmp_path, caplog, capfd
):
    gateway, media = servers
    with caplog.at_level(logging.DEBUG):
        messages, fields = provoke_every_error_path(monkeypatch, gateway, media, tmp_path)
    out, err = capfd.readouterr()  # Airflow 3 hooks and operators log through structlog to the console
    # The loopback servers' own access logs are not the worker's: left out (logger name on Airflow 3's
    # console and in caplog, source file on Airflow 2's console).
    server_log = ("aiohttp.access", "{web_log.py:")
    lines = [
        line for line in (caplog.text + out + err).splitlines() if not any(m in line for m in server_log)
    ]
    logs = "\n".join(lines)
    # urllib3 logs each request line at DEBUG (Airflow's task logs are INFO), with the URL the user gave.
    library_log = ("urllib3.connectionpool", "{connectionpool.py:")
    our_logs = "\n".join(line for line in lines if not any(m in line for m in library_log))
    issued = {a.partition(" ")[2] for a in gateway.authorizations if a.count(".") == 2}
    assert issued and any(TOKEN in a for a in gateway.authorizations)  # the gateway really saw both kinds
    assert "retry 1 of 2" in logs and "Downloading" in logs  # the retried failures were logged
    kling = {"token": TOKEN, "secret key": SECRET_KEY, "host password": HOST_PASSWORD}
    kling |= {f"JWT {n}": value for n, value in enumerate(sorted(issued))}
    kling |= {f"JWT {n} signature": value.rsplit(".", 1)[1] for n, value in enumerate(sorted(issued))}
    cdn = {"CDN password": CDN_PASSWORD, "CDN signature": CDN_SIGNATURE}
    # The download URLs' own credentials are the user's templated input, which Airflow keeps as rendered:
    # they may show in the rendered fields, never in a message or a log. Kling's secrets show nowhere.
    places = {
        "logs": (logs, kling),
        "our logs": (our_logs, cdn),
        "messages and events": ("\n".join(messages), kling | cdn),
    }
    places["rendered fields"] = ("\n".join(fields), kling)
    found = {
        (name, place) for place, (text, secrets) in places.items() for name, v in secrets.items() if v in text
    }
    found |= {("a JWT", place) for place, (text, _) in places.items() if JWT.search(text)}
    assert len(messages) > 40 and fields
    assert found == set()

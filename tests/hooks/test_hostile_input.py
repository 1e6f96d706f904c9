"""The hook under sloppy or hostile input (issue 12): pasted credentials, user-info in the host, gateways that
echo the token, servers that dribble, proxies, clock skew. Real loopback servers throughout, no mocks."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import replace

import pytest
from aiohttp import web

from airflow_provider_kling import exceptions as exc
from airflow_provider_kling.hooks.connection import KlingCredentials
from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.responses import MAX_ANSWER_BYTES
from airflow_provider_kling.retry import RetryPolicy
from tests.conftest import ACCESS_KEY, SECRET_KEY, TOKEN, connection_json
from tests.loopback import LoopbackServer, RawServer

ONCE = RetryPolicy(max_retries=0)
FAST = RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.02, min_delay=0.0)
TASK_ID = "867283741759111202"
TASK = {"task_id": TASK_ID, "task_status": "processing", "created_at": 1, "updated_at": 1}
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def envelope(data=TASK, code=0):
    return {"code": code, "message": "SUCCEED", "request_id": "req-h", "data": data}


def use(monkeypatch, host, conn_id="kling_hostile", **fields):
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection_json(host, **fields))
    return conn_id


def sync_and_async(conn_id, policy=ONCE, call="get_task"):
    """Run one call on both paths; returns ``[(path, result or exception), ...]``."""
    args = ("text2video",) if call == "list_tasks" else ("text2video", TASK_ID)
    outcomes = []
    try:
        outcomes.append(("sync", getattr(KlingHook(conn_id, retry_policy=policy), call)(*args)))
    except Exception as err:
        outcomes.append(("sync", err))

    async def run_async():
        hook = KlingHook(conn_id, retry_policy=policy)
        try:
            return await getattr(hook, "a" + call)(*args)
        except Exception as err:
            return err
        finally:
            await hook.aclose()

    outcomes.append(("async", asyncio.run(run_async())))
    return outcomes


def api_requests(emulator):
    return emulator.stats()["requests_total"]


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


# -- item 1: credentials with whitespace or control characters -----------------------------------------------


def test_a_token_pasted_with_a_line_break_works_on_both_paths(emulator, monkeypatch):
    conn_id = use(monkeypatch, emulator.url, password=TOKEN + "\n")
    for path, outcome in sync_and_async(conn_id, call="list_tasks"):
        assert outcome == [], path


def test_a_token_with_an_inner_line_break_is_refused_before_any_request(emulator, monkeypatch):
    conn_id = use(monkeypatch, emulator.url, password="sk-pasted\ntwice-0123456789")
    for path, outcome in sync_and_async(conn_id):
        assert isinstance(outcome, exc.KlingConnectionConfigError), path
        assert "password" in str(outcome) and "sk-pasted" not in str(outcome)
        assert "twice-0123456789" not in str(outcome)
    assert api_requests(emulator) == 0


def test_a_value_error_from_the_http_stack_is_reported_without_its_text(emulator, kling_conn):
    """Credentials built around the connection check (a broken header value) still never reach a message."""
    bad = "sk-never-shown\nX-Injected: 1234567"

    def hook():
        h = KlingHook(retry_policy=ONCE)
        h._settings = replace(h.get_settings(), credentials=KlingCredentials(token=bad))
        return h

    with pytest.raises(exc.KlingTransportError, match="failed: ") as info:
        hook().get_task("text2video", TASK_ID)
    assert "sk-never-shown" not in str(info.value) and "Injected" not in str(info.value)

    async def run_async():
        h = hook()
        try:
            await h.aget_task("text2video", TASK_ID)
        finally:
            await h.aclose()

    with pytest.raises(exc.KlingTransportError, match="failed: ") as info:
        asyncio.run(run_async())
    assert "sk-never-shown" not in str(info.value) and "Injected" not in str(info.value)


# -- item 2: user-info in the host ---------------------------------------------------------------------------


def test_user_info_in_the_host_is_refused_on_every_path_without_showing_it(emulator, monkeypatch):
    host = emulator.url.replace("http://", "http://someone:pa55-word-77@")
    conn_id = use(monkeypatch, host)
    for path, outcome in sync_and_async(conn_id):
        assert isinstance(outcome, exc.KlingConnectionConfigError), path
        assert "must not contain a user name or password" in str(outcome)
        assert "pa55-word-77" not in str(outcome)
    ok, message = KlingHook(conn_id).test_connection()
    assert not ok and "user name or password" in message and "pa55-word-77" not in message
    assert api_requests(emulator) == 0


# -- item 3: a gateway that echoes the Authorization header --------------------------------------------------


@pytest.fixture
def echo_gateway():
    async def handle(request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        token = auth.partition(" ")[2]
        page = (
            f"<html><h1>400 Bad Request</h1><p>Header: Authorization: {auth}</p>"
            f"<pre>token={token}</pre></html>"
        )
        return web.Response(status=400, text=page, content_type="text/html")

    server = LoopbackServer(handle)
    yield server
    server.stop()


@pytest.mark.parametrize("mode", ["token", "access key"])
def test_echoed_credentials_are_redacted_from_errors(echo_gateway, monkeypatch, mode):
    fields = {"password": TOKEN} if mode == "token" else {"login": ACCESS_KEY, "password": SECRET_KEY}
    conn_id = use(monkeypatch, echo_gateway.url, **fields)
    outcomes = sync_and_async(conn_id)
    ok, message = KlingHook(conn_id).test_connection()
    issued = KlingCredentials(access_key=ACCESS_KEY, secret_key=SECRET_KEY).authorization().split()[1]
    texts = [str(outcome) for _, outcome in outcomes] + [message]
    assert not ok
    for text in texts:
        assert "400 Bad Request" in text and "***" in text
        for secret in (TOKEN, SECRET_KEY, issued.split(".")[1], issued.split(".")[2]):
            assert secret not in text


# -- item 10: slow-loris servers meet an overall deadline ----------------------------------------------------


@pytest.fixture
def dribbling_body():
    """Promises 300 bytes and sends one every 0.1 s (30 s in all)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "300", "Content-Type": "application/json"})
        await response.prepare(request)
        for _ in range(300):
            await response.write(b" ")
            await asyncio.sleep(0.1)
        return response

    server = LoopbackServer(handle)
    yield server
    server.stop()


@pytest.fixture
def dribbling_headers():
    """Sends a status line, then header bytes one every 0.1 s (30 s in all)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        try:
            for _ in range(300):
                writer.write(b"a")
                await writer.drain()
                await asyncio.sleep(0.1)
        except ConnectionError:
            pass
        writer.close()

    server = RawServer(handle)
    yield server
    server.stop()


@pytest.mark.parametrize("server", ["dribbling_body", "dribbling_headers"])
def test_a_dribbling_server_cannot_outlast_the_connection_timeout(request, monkeypatch, server):
    conn_id = use(monkeypatch, request.getfixturevalue(server).url, timeout=1)
    started = time.monotonic()
    outcomes = sync_and_async(conn_id)
    for path, outcome in outcomes:
        assert isinstance(outcome, exc.KlingTransportError), (path, outcome)
        assert "timed out after 1s" in str(outcome), path
    assert time.monotonic() - started < 10  # both paths; the dribble alone lasts 30 s per call


# -- item 11: proxies from the environment route both paths the same way -------------------------------------


class RecordingProxy:
    """A forward proxy that answers like Kling itself, recording what each request asked it for."""

    def __init__(self):
        self.seen = []
        self.server = LoopbackServer(self.handle)
        self.url = self.server.url

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append((request.headers.get("Host"), request.headers.get("Proxy-Authorization")))
        return web.json_response(envelope())

    def stop(self):
        self.server.stop()


@pytest.fixture
def proxy():
    server = RecordingProxy()
    yield server
    server.stop()


def test_both_paths_use_the_proxy_from_the_environment(proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("http://", "http://puser:ppass-4321@"))
    conn_id = use(monkeypatch, "http://kling-gateway.invalid/kling")
    for path, outcome in sync_and_async(conn_id):
        assert isinstance(outcome, dict) and outcome["task_id"] == TASK_ID, (path, outcome)
    basic = "Basic " + base64.b64encode(b"puser:ppass-4321").decode()
    assert proxy.seen == [("kling-gateway.invalid", basic)] * 2


def test_no_proxy_sends_both_paths_directly(proxy, emulator, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    conn_id = use(monkeypatch, emulator.url)
    for path, outcome in sync_and_async(conn_id, call="list_tasks"):
        assert outcome == [], path
    assert proxy.seen == []


# -- item 12: answers too big to read, Unicode Retry-After ---------------------------------------------------


@pytest.fixture
def huge_answer():
    """A valid 60 MB envelope, streamed; records how much it managed to send before the client left."""
    state = {"sent": 0}
    padding = b"x" * 65536

    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            await response.write(b'{"code": 0, "message": "')
            for _ in range(60 * 16):
                await response.write(padding)
                state["sent"] += len(padding)
            await response.write(b'", "data": ' + json.dumps(TASK).encode() + b"}")
            await response.write_eof()
        except (ConnectionError, RuntimeError):
            pass
        return response

    server = LoopbackServer(handle)
    server.state = state
    yield server
    server.stop()


def test_an_answer_beyond_the_size_cap_is_refused_without_reading_it_all(huge_answer, monkeypatch):
    conn_id = use(monkeypatch, huge_answer.url)
    for path, outcome in sync_and_async(conn_id):
        assert isinstance(outcome, exc.KlingResponseError), (path, outcome)
        assert "larger than 10 MiB" in str(outcome)
    assert huge_answer.state["sent"] < 40 * 2**20  # the client stopped reading near the cap, both times


def test_a_declared_size_beyond_the_cap_is_refused_before_reading(monkeypatch):
    async def declared(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {MAX_ANSWER_BYTES + 1}\r\n\r\n{{".encode())
        await writer.drain()
        await asyncio.sleep(5)
        writer.close()

    server = RawServer(declared)
    try:
        conn_id = use(monkeypatch, server.url, timeout=3)
        for path, outcome in sync_and_async(conn_id):
            assert isinstance(outcome, exc.KlingResponseError) and "larger than 10 MiB" in str(outcome), path
    finally:
        server.stop()


def test_a_unicode_digit_in_retry_after_is_ignored_and_the_call_retried(monkeypatch):
    answers = []

    async def handle(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        if not answers:
            body = json.dumps({"code": 1302, "message": "too fast"}).encode()
            head = b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: \xb2\r\n"
        else:
            body = json.dumps(envelope()).encode()
            head = b"HTTP/1.1 200 OK\r\n"
        answers.append(head.split(b"\r\n")[0])
        writer.write(head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        await writer.drain()
        writer.close()

    server = RawServer(handle)
    try:
        conn_id = use(monkeypatch, server.url)
        assert KlingHook(conn_id, retry_policy=FAST).get_task("text2video", TASK_ID)["task_id"] == TASK_ID
    finally:
        server.stop()
    assert len(answers) == 2


# -- item 15: clock skew -------------------------------------------------------------------------------------


def test_a_kling_clock_20_s_behind_still_accepts_the_jwt(emulator, kling_conn):
    kling_conn(login=ACCESS_KEY, password=SECRET_KEY)
    emulator.configure(clock_offset=-20)
    assert KlingHook(retry_policy=ONCE).list_tasks("text2video") == []
    assert emulator.stats()["answers_by_code"] == {"0": 1}


def test_a_1003_that_persists_after_the_re_sign_says_to_check_the_clock(emulator, kling_conn):
    kling_conn(login=ACCESS_KEY, password=SECRET_KEY)
    emulator.configure(clock_offset=-120)
    with pytest.raises(exc.KlingTokenExpiredError, match=r"1003.*check that this machine's clock"):
        KlingHook(retry_policy=ONCE).list_tasks("text2video")
    assert emulator.stats()["answers_by_code"] == {"1003": 2}


# -- item 9: the connection's extras are checked before any request ------------------------------------------

BAD_EXTRAS = [
    ("timeout", float("nan")),
    ("timeout", float("inf")),
    ("timeout", "-inf"),
    ("timeout", 0),
    ("timeout", -5),
    ("timeout", 0.001),
    ("timeout", "abc"),
    ("timeout", True),
    ("timeout", {"s": 1}),
    ("max_retries", -1),
    ("max_retries", 2.5),
    ("max_retries", "many"),
    ("max_retries", float("inf")),
    ("max_retries", 1000),
    ("ca_bundle", ["a.pem"]),
]


@pytest.mark.parametrize(("extra", "value"), BAD_EXTRAS)
def test_a_bad_connection_extra_is_refused_naming_it_before_any_request(emulator, monkeypatch, extra, value):
    conn_id = use(monkeypatch, emulator.url, **{extra: value})
    for path, outcome in sync_and_async(conn_id):
        assert isinstance(outcome, exc.KlingConnectionConfigError), (path, outcome)
        assert f"extra '{extra}'" in str(outcome) and "'kling_hostile'" in str(outcome)
    assert api_requests(emulator) == 0

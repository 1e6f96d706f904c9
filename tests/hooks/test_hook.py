"""KlingHook against the emulator over real loopback HTTP: auth, code classes, retries, idempotent create."""

from __future__ import annotations

import asyncio
import json
import logging

import jwt
import pytest
from aiohttp import web

from airflow_provider_kling import exceptions as exc
from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.retry import RetryPolicy
from tests.conftest import ACCESS_KEY, SECRET_KEY, TOKEN
from tests.loopback import LoopbackServer

FAST = RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.05, min_delay=0.0, concurrency_min_delay=0.0)


def hook(conn_id="kling_default", policy=FAST):
    return KlingHook(conn_id, retry_policy=policy)


def kling_requests(emulator):
    """The API requests the emulator saw (controls and media excluded)."""
    return [r for r in emulator.stats()["request_log"] if r["path"].startswith(("/v1/", "/kling/v1/"))]


def test_create_get_list_find_round_trip(emulator, kling_conn):
    h = hook()
    task = h.create_task("text2video", {"prompt": "a red fox", "external_task_id": "ext-round-1"})
    assert task["task_status"] == "submitted" and isinstance(task["task_id"], str)
    assert h.get_task("text2video", task["task_id"])["task_id"] == task["task_id"]
    assert [t["task_id"] for t in h.list_tasks("text2video", page_size=5)] == [task["task_id"]]
    assert h.find_task("text2video", "ext-round-1")["task_id"] == task["task_id"]
    assert h.list_tasks("generations") == []
    stats = emulator.stats()
    assert stats["creates"] == 1 and stats["answers_by_code"] == {"0": 5}


def test_gateway_prefix_in_host(emulator, kling_conn):
    kling_conn(host=emulator.url + "/kling")
    task = hook().create_task("generations", {"prompt": "a teapot", "n": 2})
    assert [r["path"] for r in kling_requests(emulator)] == ["/kling/v1/images/generations"]
    assert task["task_id"]


def test_access_key_and_secret_key_sign_a_jwt(emulator, kling_conn):
    kling_conn(login=ACCESS_KEY, password=SECRET_KEY)
    task = hook().create_task("text2video", {"prompt": "jwt works"})
    assert hook().get_task("text2video", task["task_id"])["task_id"] == task["task_id"]


def test_expired_jwt_is_resigned_once(emulator, kling_conn):
    kling_conn(login=ACCESS_KEY, password=SECRET_KEY)
    h = hook()
    creds = h.get_settings().credentials
    creds.authorization()
    # Plant an expired token that the cache still believes in: Kling answers 1004 and the hook re-signs.
    creds._jwt = jwt.encode(
        {"iss": ACCESS_KEY, "exp": 1_000_000, "nbf": 999_000}, SECRET_KEY, algorithm="HS256"
    )
    h.create_task("text2video", {"prompt": "after re-sign"})
    assert emulator.stats()["answers_by_code"] == {"1004": 1, "0": 1}


def test_a_bearer_token_is_not_retried_on_1004(emulator, kling_conn):
    emulator.configure(fail_requests=[{"code": 1004}])
    with pytest.raises(exc.KlingTokenExpiredError):
        hook().get_task("text2video", "123")
    assert len(kling_requests(emulator)) == 1


def test_wrong_token_fails_at_once_with_kling_code(emulator, kling_conn):
    kling_conn(password="sk-not-the-right-token")
    with pytest.raises(exc.KlingAuthError, match=r"Kling API error 1002 \(HTTP 401\)"):
        hook().list_tasks("text2video")
    assert len(kling_requests(emulator)) == 1


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (1000, exc.KlingAuthError),
        (1101, exc.KlingAccountError),
        (1102, exc.KlingAccountError),
        (1103, exc.KlingAuthError),
        (1200, exc.KlingInvalidRequestError),
        (1300, exc.KlingPolicyError),
        (1301, exc.KlingPolicyError),
        (1304, exc.KlingAuthError),
    ],
)
def test_non_retryable_codes_fail_after_one_request(emulator, kling_conn, code, cls):
    emulator.configure(fail_requests=[{"code": code, "message": f"refused with {code}"}])
    with pytest.raises(cls, match=f"{code}.*refused with {code}"):
        hook().get_task("text2video", "123")
    assert len(kling_requests(emulator)) == 1


@pytest.mark.parametrize(
    "fault",
    [
        {"code": 1302},
        {"code": 1303},
        {"code": 5000},
        {"code": 5001},
        {"code": 5002},
        {"html": True, "status": 502},
        {"malformed": True},
        {"drop": True},
        {"gateway_error": True, "status": 503},
    ],
)
def test_transient_faults_are_retried(emulator, kling_conn, fault):
    task = hook().create_task("text2video", {"prompt": "survives", "external_task_id": "ext-transient"})
    emulator.configure(fail_requests=[{**fault, "scope": "query"}])
    assert hook().get_task("text2video", task["task_id"])["task_id"] == task["task_id"]
    assert len(kling_requests(emulator)) == 3  # the create, the faulty query, the retry


def test_retries_are_bounded_by_the_connection_extra(emulator, kling_conn):
    kling_conn(max_retries=2)
    emulator.configure(faults={"5000": 1.0})
    h = KlingHook("kling_default")
    h.get_settings()
    fast_with_conn_limit = RetryPolicy(
        max_retries=h.retry_policy.max_retries, base_delay=0.01, max_delay=0.02
    )
    assert fast_with_conn_limit.max_retries == 2
    with pytest.raises(exc.KlingServerError):
        KlingHook(retry_policy=fast_with_conn_limit).get_task("text2video", "123")
    assert len(kling_requests(emulator)) == 3


def test_retry_after_is_honoured(emulator, kling_conn):
    emulator.configure(fail_requests=[{"code": 1302, "retry_after": 1}])
    hook().list_tasks("text2video")
    first, second = kling_requests(emulator)
    assert first["code"] == 1302 and second["code"] == 0
    assert second["t"] - first["t"] >= 1.0


@pytest.mark.parametrize("fault", [{"code": 5002}, {"drop": True}, {"malformed": True}])
def test_create_with_unknown_outcome_is_looked_up_not_duplicated(emulator, kling_conn, fault):
    emulator.configure(fail_requests=[{**fault, "scope": "create", "after_create": True}])
    task = hook().create_task("text2video", {"prompt": "pay once", "external_task_id": "ext-unknown-1"})
    stats = emulator.stats()
    assert stats["creates"] == 1 and stats["creates_by_external_id"] == {"ext-unknown-1": 1}
    assert stats["create_attempts"] == 1
    assert emulator.task(task["task_id"])["task_info"]["external_task_id"] == "ext-unknown-1"


def test_create_with_unknown_outcome_and_no_external_id_is_not_resent(emulator, kling_conn):
    emulator.configure(fail_requests=[{"code": 5002, "scope": "create", "after_create": True}])
    with pytest.raises(exc.KlingError, match="unknown outcome.*Set external_task_id"):
        hook().create_task("text2video", {"prompt": "no id"})
    assert emulator.stats()["create_attempts"] == 1


def test_create_that_really_failed_is_sent_again(emulator, kling_conn):
    emulator.configure(fail_requests=[{"code": 5000, "scope": "create"}])
    hook().create_task("text2video", {"prompt": "second try", "external_task_id": "ext-retry-create"})
    stats = emulator.stats()
    assert stats["create_attempts"] == 2 and stats["creates"] == 1


def test_create_is_idempotent_per_external_id(emulator, kling_conn):
    first = hook().create_task("text2video", {"prompt": "once", "external_task_id": "ext-dup"})
    again = hook().create_task("text2video", {"prompt": "once", "external_task_id": "ext-dup"})
    assert again["task_id"] == first["task_id"]
    assert emulator.stats()["creates"] == 1


def test_rate_limited_create_is_retried_without_lookup(emulator, kling_conn):
    emulator.configure(fail_requests=[{"code": 1303, "scope": "create"}, {"code": 1302, "scope": "create"}])
    hook().create_task("text2video", {"prompt": "queued", "external_task_id": "ext-1303"})
    assert [r["code"] for r in kling_requests(emulator)] == [1303, 1302, 0]


def test_invalid_create_shows_klings_message(emulator, kling_conn):
    with pytest.raises(exc.KlingInvalidRequestError, match="1201.*mode"):
        hook().create_task("text2video", {"prompt": "x", "mode": "turbo"})


def test_find_task_falls_back_to_the_list_when_the_path_form_is_rejected(emulator, kling_conn):
    task = hook().create_task(
        "image2video", {"image": "https://img.example/cat.png", "external_task_id": "ext-f"}
    )
    emulator.configure(fail_requests=[{"code": 1201, "scope": "query"}])
    assert hook().find_task("image2video", "ext-f")["task_id"] == task["task_id"]
    assert emulator.stats()["list_requests"] == 1


def test_find_task_of_an_absent_id_is_none(emulator, kling_conn):
    assert hook().find_task("text2video", "never-created") is None


@pytest.mark.parametrize("bad", ["../../v1/images/generations", "a/b", "", "x" * 129, "id?x=1"])
def test_task_ids_are_validated_before_any_request(emulator, kling_conn, bad):
    with pytest.raises(ValueError, match="must match"):
        hook().get_task("text2video", bad)
    with pytest.raises(ValueError, match="external_task_id must match"):
        hook().find_task("text2video", bad)
    assert emulator.stats()["requests_total"] == 0


def test_unknown_task_type_lists_valid_types_before_any_request(emulator, kling_conn):
    with pytest.raises(ValueError, match="text2video, image2video"):
        hook().get_task("txt2vid", "123")
    assert emulator.stats()["requests_total"] == 0


def test_client_timeout_is_the_connection_extra(emulator, kling_conn):
    kling_conn(timeout=0.3)
    emulator.configure(slow_seconds=1.0)
    with pytest.raises(exc.KlingTransportError, match="timed out after 0.3s"):
        hook(policy=RetryPolicy(max_retries=1, base_delay=0.01, max_delay=0.01)).list_tasks("text2video")


def test_connection_test_button(emulator, kling_conn):
    assert hook().test_connection() == (True, f"Connected to Kling at {emulator.url}")
    kling_conn(password="sk-wrong-token-value")
    ok, message = hook().test_connection()
    assert not ok and "'kling_default'" in message and "1002" in message


async def test_async_twins(emulator, kling_conn):
    kling_conn(login=ACCESS_KEY, password=SECRET_KEY)
    created = await asyncio.to_thread(
        hook().create_task, "generations", {"prompt": "async", "n": 3, "external_task_id": "ext-async"}
    )
    h = hook()
    try:
        assert (await h.aget_task("generations", created["task_id"]))["task_id"] == created["task_id"]
        assert (await h.afind_task("generations", "ext-async"))["task_id"] == created["task_id"]
        assert await h.afind_task("generations", "ext-missing") is None
        assert [t["task_id"] for t in await h.alist_tasks("generations")] == [created["task_id"]]
    finally:
        await h.aclose()


async def test_async_retries_use_the_same_policy(emulator, kling_conn):
    created = await asyncio.to_thread(hook().create_task, "text2video", {"prompt": "p"})
    emulator.configure(fail_requests=[{"code": 5001, "scope": "query"}, {"drop": True, "scope": "query"}])
    h = hook()
    try:
        assert (await h.aget_task("text2video", created["task_id"]))["task_id"] == created["task_id"]
    finally:
        await h.aclose()
    assert [r["code"] for r in kling_requests(emulator)][1:] == [5001, None, 0]


class _HeaderRecorder:
    """A loopback server that records request headers and answers like Kling (with a gateway cookie)."""

    def __init__(self):
        self.headers = []
        self.server = LoopbackServer(self.handle)
        self.port = int(self.server.url.rsplit(":", 1)[1])

    async def handle(self, request):
        self.headers.append(dict(request.headers))
        data = {"task_id": "1"} if request.path.endswith("/1") else []
        answer = web.json_response({"code": 0, "message": "SUCCEED", "request_id": "r", "data": data})
        answer.set_cookie("gateway-session", "sticky-1234")
        return answer

    def stop(self):
        self.server.stop()


async def test_connection_extras_never_become_headers(monkeypatch):
    recorder = _HeaderRecorder()
    try:
        extra = {"timeout": 5, "X-Leak": "leak-me-1234", "Authorization": "Basic bad"}
        monkeypatch.setenv(
            "AIRFLOW_CONN_KLING_HEADERS",
            json.dumps(
                {
                    "conn_type": "kling",
                    "host": f"http://127.0.0.1:{recorder.port}",
                    "password": TOKEN,
                    "extra": extra,
                }
            ),
        )
        await asyncio.to_thread(hook("kling_headers").list_tasks, "text2video")
        h = hook("kling_headers")
        await h.aget_task("text2video", "1")
        await h.aclose()
    finally:
        recorder.stop()
    assert len(recorder.headers) == 2
    for headers in recorder.headers:
        assert "X-Leak" not in headers and "timeout" not in {k.lower() for k in headers}
        assert headers["Authorization"] == f"Bearer {TOKEN}"
        assert headers["Content-Type"] == "application/json"


async def test_the_shared_async_session_keeps_no_cookies_between_connections(monkeypatch):
    """Hooks of different connections share one session per loop; a cookie one answer sets stays unsent."""
    recorder = _HeaderRecorder()
    # A host name: aiohttp's default cookie jar ignores cookies of IP-address hosts.
    host = recorder.server.url.replace("127.0.0.1", "localhost")
    try:
        for conn_id, token in (("kling_a", "sk-account-a-1234"), ("kling_b", "sk-account-b-5678")):
            monkeypatch.setenv(
                f"AIRFLOW_CONN_{conn_id.upper()}",
                json.dumps({"conn_type": "kling", "host": host, "password": token}),
            )
        first, second = hook("kling_a"), hook("kling_b")
        await first.aget_task("text2video", "1")
        await second.aget_task("text2video", "1")
        await first.aget_task("text2video", "1")
        assert first._async_session is second._async_session  # one pool for the loop
        await first.aclose()
        await second.aclose()
    finally:
        recorder.stop()
    assert [h["Authorization"] for h in recorder.headers] == [
        "Bearer sk-account-a-1234",
        "Bearer sk-account-b-5678",
        "Bearer sk-account-a-1234",
    ]
    assert all("Cookie" not in headers for headers in recorder.headers)


def test_secrets_never_reach_logs_or_errors(emulator, kling_conn, caplog, capfd):
    kling_conn(login=ACCESS_KEY, password=SECRET_KEY)
    h = hook()
    errors = []
    with caplog.at_level(logging.DEBUG):
        task = h.create_task("text2video", {"prompt": "secret-free", "external_task_id": "ext-secret"})
        h.get_task("text2video", task["task_id"])
        emulator.configure(fail_requests=[{"code": 5000}, {"code": 1002}])
        try:
            h.get_task("text2video", task["task_id"])
        except exc.KlingError as err:
            errors.append(str(err))
    issued_jwt = h.get_settings().credentials.authorization().split()[1]
    text = caplog.text + "\n".join(errors) + repr(h.get_settings())
    # Airflow 3 hooks log through structlog to the console; libraries (urllib3 at DEBUG) through logging.
    out, err = capfd.readouterr()
    text += out + err
    assert errors and "Created Kling text2video task" in text and "retry 1 of 3" in text
    for secret in (SECRET_KEY, issued_jwt, issued_jwt.split(".")[2]):
        assert secret not in text

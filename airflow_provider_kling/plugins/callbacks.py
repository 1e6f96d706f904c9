"""``KlingCallbackPlugin``: where Kling's callbacks reach Airflow, served by the API server (Airflow >= 3.1).

Registered through the ``airflow.plugins`` entry point; its one FastAPI app is mounted under
``/kling-callbacks``:

- ``POST /v1/callback/{target}/{token}``: a Kling callback. The token must be the target's HMAC under the
  connection's ``callback_secret`` (403 otherwise), the Standard Webhooks signature must verify when the
  connection has ``webhook_secret`` (401), and the body must be at most 64 KiB (413) and name a task (400).
  A body saying the task still runs is acknowledged and ignored (200). Otherwise the answer is 202 at once,
  and the task is then re-queried and its event recorded (``completions.py``): the body is never believed.
- ``POST /v1/sweep/{conn_id}``: the sweep (``KlingCompletionSweepOperator``), signed the Standard Webhooks
  way with ``callback_secret``; answers the count per outcome.
- ``GET /v1/ping``: for checking that Kling can reach the API server at ``callback_base_url``.

These endpoints are outside Airflow's auth by design (Kling has no Airflow account). On Airflow 2.11 the
entry point resolves to ``None`` and nothing is loaded. The app is built when the API server first reads
``fastapi_apps``, so other Airflow processes never import FastAPI for it. No ``from __future__ import
annotations`` here: FastAPI reads the handlers' annotations, which name objects imported inside
``create_app``.
"""

import json
import logging
from collections.abc import Callable
from typing import Any

from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_1_PLUS

from airflow_provider_kling.callbacks import (
    CALLBACK_PREFIX,
    MAX_SWEEP_QUERIES,
    CallbackAuthError,
    CallbackTarget,
    verify_token,
    verify_webhook,
)
from airflow_provider_kling.checks import validate_task_id
from airflow_provider_kling.events import TERMINAL_STATUSES
from airflow_provider_kling.exceptions import KlingValidationError
from airflow_provider_kling.options import MAX_SECONDS

log = logging.getLogger(__name__)

#: Larger bodies are refused (413) while they arrive: a task object with nine images is a few KiB.
MAX_BODY_BYTES = 64 * 1024


class Refused(Exception):
    """A request answered with ``status`` and a short reason, without recording anything."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def callback_task(body: bytes) -> tuple[str, str]:
    """``(task_id, task_status)`` named by a callback body: the bare task object, or one wrapped in
    ``{code, message, data}``. Only a hint of which task to query; nothing else in it is used."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        raise Refused(400, "the body is not JSON") from None
    if isinstance(value, dict) and "task_id" not in value and isinstance(value.get("data"), dict):
        value = value["data"]
    if not isinstance(value, dict):
        raise Refused(400, "the body is not a task object")
    task_id, status = value.get("task_id"), value.get("task_status")
    if type(task_id) is int:
        task_id = str(task_id)
    try:
        validate_task_id(task_id)
    except KlingValidationError:
        raise Refused(400, "the body names no valid task_id") from None
    if not isinstance(status, str):
        raise Refused(400, "the body names no task_status")
    return str(task_id), status


def sweep_arguments(body: bytes, conn_id: str) -> dict[str, Any]:
    """The sweep's window and budget from its (already verified) body, each within bounds."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        raise Refused(400, "the body is not JSON") from None
    if not isinstance(value, dict) or value.get("conn_id") != conn_id:
        raise Refused(400, "the body must name the connection of the URL")
    out: dict[str, Any] = {}
    for name, limit in (("grace_period", MAX_SECONDS), ("lookback", MAX_SECONDS)):
        number = value.get(name)
        if isinstance(number, bool) or not isinstance(number, int | float) or not 0 <= number <= limit:
            raise Refused(400, f"{name} must be a number of seconds from 0 to {limit:g}")
        out[name] = float(number)
    if out["grace_period"] > out["lookback"]:
        raise Refused(400, "grace_period must not exceed lookback")
    queries = value.get("max_queries")
    if type(queries) is not int or not 0 <= queries <= MAX_SWEEP_QUERIES:
        raise Refused(400, f"max_queries must be an integer from 0 to {MAX_SWEEP_QUERIES}")
    out["max_queries"] = queries
    return out


def create_app() -> Any:
    """The FastAPI app of the plugin (imports FastAPI: call it in the API server only)."""
    from fastapi import BackgroundTasks, FastAPI, Request
    from fastapi.responses import JSONResponse
    from starlette.concurrency import run_in_threadpool

    from airflow_provider_kling.plugins import completions

    app = FastAPI(title="Kling callbacks", openapi_url=None, docs_url=None, redoc_url=None)

    def answer(status: int, result: str, **more: Any) -> JSONResponse:
        return JSONResponse({"result": result, **more}, status_code=status)

    async def read_body(request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise Refused(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise Refused(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
        return bytes(body)

    async def settings_for(conn_id: str) -> Any:
        settings = await run_in_threadpool(completions.connection_settings, conn_id)
        if settings is None or not settings.callback_secret:
            raise Refused(403, "forbidden")
        return settings

    async def refusals(handle: Callable[[], Any]) -> JSONResponse:
        try:
            response: JSONResponse = await handle()
            return response
        except Refused as refused:
            log.warning("Kling callback plugin refused a request: %d %s", refused.status, refused.reason)
            return answer(refused.status, "refused", reason=refused.reason)

    @app.get("/v1/ping")
    async def ping() -> JSONResponse:
        return answer(200, "pong")

    @app.post("/v1/callback/{target}")
    async def callback_without_token(target: str) -> JSONResponse:
        return answer(401, "refused", reason="the callback URL has no token")

    @app.post("/v1/callback/{target}/{token}")
    async def callback(
        target: str, token: str, request: Request, background: BackgroundTasks
    ) -> JSONResponse:
        async def handle() -> JSONResponse:
            body = await read_body(request)
            try:
                parsed = CallbackTarget.decode(target)
            except CallbackAuthError:
                raise Refused(403, "forbidden") from None
            settings = await settings_for(parsed.conn_id)
            try:
                verify_token(settings.callback_secret, target, token)
            except CallbackAuthError:
                raise Refused(403, "forbidden") from None
            if settings.webhook_secret:
                try:
                    verify_webhook(settings.webhook_secret, request.headers, body)
                except CallbackAuthError as err:
                    raise Refused(401, str(err)) from None
            task_id, status = callback_task(body)
            if status not in TERMINAL_STATUSES:
                return answer(200, "ignored", reason="the task is still running")
            background.add_task(completions.confirm_and_record, parsed, task_id)
            return answer(202, "accepted")

        return await refusals(handle)

    @app.post("/v1/sweep/{conn_id}")
    async def sweep(conn_id: str, request: Request) -> JSONResponse:
        async def handle() -> JSONResponse:
            body = await read_body(request)
            settings = await settings_for(conn_id)
            try:
                verify_webhook(settings.callback_secret, request.headers, body)
            except CallbackAuthError as err:
                raise Refused(401, str(err)) from None
            arguments = sweep_arguments(body, conn_id)
            counts = await run_in_threadpool(lambda: completions.sweep(conn_id, **arguments))
            return answer(200, "swept", counts=counts)

        return await refusals(handle)

    return app


class _BuiltOnFirstRead:
    """``fastapi_apps`` made on first read, on the class as on its instances (the API server reads it)."""

    def __init__(self, build: Callable[[], list[dict[str, Any]]]) -> None:
        self._build = build
        self._value: list[dict[str, Any]] | None = None

    def __get__(self, instance: object, owner: type | None = None) -> list[dict[str, Any]]:
        if self._value is None:
            self._value = self._build()
        return self._value


if AIRFLOW_V_3_1_PLUS:
    from airflow.plugins_manager import AirflowPlugin

    class KlingCallbackPlugin(AirflowPlugin):
        """Kling's callbacks become Asset events (README: Event-driven pipelines)."""

        name = "kling_callbacks"
        fastapi_apps = _BuiltOnFirstRead(
            lambda: [{"app": create_app(), "url_prefix": CALLBACK_PREFIX, "name": "Kling callbacks"}]
        )

else:
    # Airflow < 3.1 serves no plugin FastAPI apps: the entry point names no plugin, so none is loaded.
    KlingCallbackPlugin = None  # type: ignore[assignment,misc]

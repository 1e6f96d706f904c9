"""``KlingHook``: the ``kling`` connection and every call to Kling, sync (requests) and async (aiohttp).

Each public call is written once, as a *plan*: a generator that yields ``_Send`` (one HTTP request) and
``_Sleep`` (a backoff) steps and receives answers or errors back. Two small drivers execute plans, one with
``requests``/``time.sleep`` and one with ``aiohttp``/``asyncio.sleep``, so the retry policy, the JWT re-sign
and the "look up before creating again" rule are shared by every path instead of being copied.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

import aiohttp
import requests
from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson
from airflow.providers.http.hooks.http import HttpHook

from airflow_provider_kling import metrics
from airflow_provider_kling.checks import validate_task_id
from airflow_provider_kling.exceptions import (
    KlingApiError,
    KlingConnectionConfigError,
    KlingError,
    KlingInvalidRequestError,
    KlingResponseError,
    KlingTokenExpiredError,
    KlingTransportError,
)
from airflow_provider_kling.hooks.connection import (
    DEFAULT_BASE_URL,
    KlingConnectionSettings,
    KlingCredentials,
    build_settings,
)
from airflow_provider_kling.hooks.deadline import Deadline, DeadlineAdapter
from airflow_provider_kling.hooks.sessions import (
    acquire_session,
    cache_settings,
    cached_settings,
    release_session,
)
from airflow_provider_kling.quota import (
    Quota,
    from_gateway_billing,
    from_gateway_token_usage,
    from_kling_packs,
)
from airflow_provider_kling.redaction import redact_url
from airflow_provider_kling.responses import (
    AnswerBody,
    parse_document,
    parse_response,
    task_list,
    task_object,
)
from airflow_provider_kling.retry import DEFAULT_MAX_RETRIES, RetryPolicy
from airflow_provider_kling.spec import KlingTaskType, get_task_type

T = TypeVar("T")

# Answers are read in pieces of this size, so the size cap is checked as they arrive.
READ_BYTES = 64 * 1024
# find_task's fallback scans at most this many of the newest tasks (pages of Kling's maximum size).
SCAN_PAGE_SIZE = 500
SCAN_MAX_PAGES = 10


@dataclass(frozen=True)
class _Send:
    """One request. ``at_root`` sends it to a gateway's root instead of its ``/kling`` base;
    ``envelope=False`` reads a plain JSON answer (gateway billing) instead of ``{code, message, data}``."""

    method: str
    path: str
    params: dict[str, str] | None = None
    body: Mapping[str, Any] | None = None
    at_root: bool = False
    envelope: bool = True
    #: For metrics: the task type the request is about, and whether "not found" is an answer (a lookup).
    task_type: str | None = None
    lookup: bool = False

    def url(self, settings: KlingConnectionSettings) -> str:
        return settings.url(self.path, at_root=self.at_root)

    def parse(
        self, settings: KlingConnectionSettings, status: int, body: bytes, retry_after: str | None
    ) -> Any:
        parse = parse_response if self.envelope else parse_document
        return parse(status, body, retry_after, settings.redact)


@dataclass(frozen=True)
class _Sleep:
    seconds: float


@dataclass(frozen=True)
class _Done(Generic[T]):
    value: T


Plan = Generator[_Send | _Sleep, Any, T]


def _gateway(path: str) -> _Send:
    """A GET of a gateway's own endpoint (billing), at its root and without Kling's envelope."""
    return _Send("GET", path, at_root=True, envelope=False)


def _count_error(step: _Send, error: KlingError) -> None:
    """Count an error answer (or failed request) in Airflow's metrics; a lookup's "not found" is an answer."""
    not_found = isinstance(error, KlingApiError) and (
        isinstance(error, KlingInvalidRequestError) or error.http_status in (400, 404, 405)
    )
    if not (step.lookup and not_found):
        metrics.api_error(metrics.error_class(error), step.task_type)


class _KlingAuth(requests.auth.AuthBase):
    """Sets a fresh ``Authorization`` header on each request (the JWT may have been re-signed)."""

    def __init__(self, credentials: KlingCredentials) -> None:
        self.credentials = credentials

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.credentials.authorization()
        return request


def _external_id(task: Any) -> str | None:
    info = task.get("task_info") if isinstance(task, dict) else None
    return info.get("external_task_id") if isinstance(info, dict) else None


def _page_params(page_num: int, page_size: int) -> dict[str, str]:
    """Kling's list paging, checked against its documented ranges before anything is sent."""
    if not 1 <= page_num <= 1000:
        raise ValueError(f"page_num must be between 1 and 1000; got {page_num}")
    if not 1 <= page_size <= 500:
        raise ValueError(f"page_size must be between 1 and 500; got {page_size}")
    return {"pageNum": str(page_num), "pageSize": str(page_size)}


class KlingHook(HttpHook):
    """Talk to Kling (directly, or through a gateway that serves its paths under a prefix such as ``/kling``).

    :param kling_conn_id: the ``kling`` connection: host = base URL, password = API token, or login = access
        key and password = secret key (then every request carries an HS256 JWT).
    :param retry_policy: overrides the connection's retry settings (the trigger polls with ``max_retries=0``
        and backs off itself).
    """

    conn_name_attr = "kling_conn_id"
    default_conn_name = "kling_default"
    conn_type = "kling"
    hook_name = "Kling AI"
    default_host = DEFAULT_BASE_URL

    def __init__(
        self, kling_conn_id: str = default_conn_name, *, retry_policy: RetryPolicy | None = None
    ) -> None:
        super().__init__(method="GET", http_conn_id=kling_conn_id)
        self.kling_conn_id = kling_conn_id
        self._retry_policy_override = retry_policy
        self._settings: KlingConnectionSettings | None = None
        self._session: requests.Session | None = None
        self._async_session: aiohttp.ClientSession | None = None
        self._async_loop: asyncio.AbstractEventLoop | None = None

    # -- connection ---------------------------------------------------------------------------------------

    def _settings_from(self, conn: Any, extras: Mapping[str, Any]) -> KlingConnectionSettings:
        settings = build_settings(
            self.kling_conn_id,
            host=conn.host,
            port=conn.port,
            login=conn.login,
            password=conn.password,
            extras=extras,
        )
        self.base_url = settings.base_url
        return settings

    def get_settings(self) -> KlingConnectionSettings:
        """The parsed connection (fetched once per hook)."""
        if self._settings is None:
            conn = self.get_connection(self.kling_conn_id)
            self._settings = self._settings_from(conn, conn.extra_dejson)
        return self._settings

    async def aget_settings(self) -> KlingConnectionSettings:
        """The parsed connection, resolved without blocking the event loop."""
        if self._settings is None:
            settings = cached_settings(self.kling_conn_id)
            if settings is None:
                conn = await get_async_connection(self.kling_conn_id, hook=self)
                settings = self._settings_from(conn, await get_async_extra_dejson(conn))
                cache_settings(self.kling_conn_id, settings)
            self._settings, self.base_url = settings, settings.base_url
        return self._settings

    @property
    def retry_policy(self) -> RetryPolicy:
        if self._retry_policy_override is not None:
            return self._retry_policy_override
        max_retries = self._settings.max_retries if self._settings else None
        return RetryPolicy(max_retries=DEFAULT_MAX_RETRIES if max_retries is None else max_retries)

    def get_conn(
        self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None
    ) -> requests.Session:
        """A keep-alive session with Kling auth; unlike ``HttpHook`` no connection extra becomes a header.

        Its connections obey the overall deadline each call sets (``requests`` alone times single reads).
        """
        if self._session is None:
            settings = self.get_settings()
            session = requests.Session()
            session.auth = _KlingAuth(settings.credentials)
            session.headers.update({"Content-Type": "application/json", "Accept": "application/json"})
            adapter = DeadlineAdapter()
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._session = session
        if headers:
            self._session.headers.update(headers)
        return self._session

    def _aget_session(self, settings: KlingConnectionSettings) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._async_session is None or self._async_session.closed or self._async_loop is not loop:
            self._async_session = acquire_session(settings.timeout, settings.ca_bundle)
            self._async_loop = loop
        return self._async_session

    def close(self) -> None:
        """Close the sync session."""
        if self._session is not None:
            self._session.close()
            self._session = None

    async def aclose(self) -> None:
        """Let go of the shared async session (a trigger calls this when it finishes)."""
        if self._async_session is not None and self._async_loop is asyncio.get_running_loop():
            await release_session(self._async_session)
        self._async_session = self._async_loop = None

    # -- drivers ------------------------------------------------------------------------------------------

    @staticmethod
    def _timed_out(settings: KlingConnectionSettings, step: _Send) -> KlingTransportError:
        return KlingTransportError(
            f"{step.method} {redact_url(step.url(settings))} timed out after {settings.timeout:g}s"
        )

    @staticmethod
    def _failed(settings: KlingConnectionSettings, step: _Send, exc: Exception) -> KlingTransportError:
        # The type only: the text of a ValueError from the HTTP stack may quote a header (the token).
        return KlingTransportError(
            f"{step.method} {redact_url(step.url(settings))} failed: {type(exc).__name__}"
        )

    def _send(self, settings: KlingConnectionSettings, step: _Send) -> Any:
        """One request; ``settings.timeout`` bounds each read *and* the whole call (``Deadline``)."""
        with Deadline(settings.timeout) as deadline:
            try:
                response = self.get_conn().request(
                    step.method,
                    step.url(settings),
                    params=step.params,
                    json=step.body,
                    timeout=settings.timeout,
                    # Per request: requests lets REQUESTS_CA_BUNDLE override a session's verify.
                    verify=settings.ca_bundle or None,
                    stream=True,
                )
                with response:
                    body = AnswerBody(response.status_code, response.headers.get("Content-Length"))
                    for chunk in response.iter_content(READ_BYTES):
                        body.add(chunk)
            except (requests.RequestException, ValueError) as exc:
                if deadline.expired or isinstance(exc, requests.Timeout):
                    raise self._timed_out(settings, step) from None
                raise self._failed(settings, step, exc) from None
        if deadline.expired:  # the cut may look like an answer that ended early
            raise self._timed_out(settings, step)
        return step.parse(settings, response.status_code, body.content(), response.headers.get("Retry-After"))

    async def _asend(self, settings: KlingConnectionSettings, step: _Send) -> Any:
        """The async twin of ``_send``: the session's ``ClientTimeout(total=...)`` bounds the whole call."""
        session = self._aget_session(settings)
        try:
            async with session.request(
                step.method,
                step.url(settings),
                params=step.params,
                json=step.body,
                headers={"Authorization": settings.credentials.authorization()},
                # aiohttp sends a proxy URL's user-info as Proxy-Authorization, as requests does.
                proxy=settings.proxy,
            ) as response:
                body = AnswerBody(response.status, response.headers.get("Content-Length"))
                async for chunk in response.content.iter_chunked(READ_BYTES):
                    body.add(chunk)
        except TimeoutError:
            raise self._timed_out(settings, step) from None
        except (aiohttp.ClientError, ValueError) as exc:
            raise self._failed(settings, step, exc) from None
        return step.parse(settings, response.status, body.content(), response.headers.get("Retry-After"))

    @staticmethod
    def _advance(plan: Plan[T], answer: Any, error: KlingError | None) -> _Send | _Sleep | _Done[T]:
        """Hand the last step's outcome to the plan and get its next step (or its result)."""
        try:
            return plan.throw(error) if error is not None else plan.send(answer)
        except StopIteration as stop:
            return _Done(stop.value)

    def _run(self, plan: Plan[T]) -> T:
        settings = self.get_settings()
        answer, error = None, None
        while not isinstance(step := self._advance(plan, answer, error), _Done):
            answer, error = None, None
            try:
                if isinstance(step, _Sleep):
                    time.sleep(step.seconds)
                else:
                    answer = self._send(settings, step)
            except KlingError as exc:
                error = exc
        return step.value

    async def _arun(self, plan: Plan[T]) -> T:
        settings = await self.aget_settings()
        answer, error = None, None
        while not isinstance(step := self._advance(plan, answer, error), _Done):
            answer, error = None, None
            try:
                if isinstance(step, _Sleep):
                    await asyncio.sleep(step.seconds)
                else:
                    answer = await self._asend(settings, step)
            except KlingError as exc:
                error = exc
        return step.value

    # -- plans --------------------------------------------------------------------------------------------

    def _call(self, step: _Send, policy: RetryPolicy | None = None) -> Plan[Any]:
        """One request under the retry policy; a POST with an unknown outcome is left to ``_create``."""
        policy = policy or self.retry_policy
        credentials = self._settings.credentials if self._settings else None
        attempt = 0
        resigned = False
        while True:
            try:
                return (yield step)
            except KlingTokenExpiredError as err:
                _count_error(step, err)
                if credentials is None or not credentials.uses_jwt:
                    raise
                if resigned:
                    raise type(err)(
                        f"{err.message}; Kling refused a freshly signed JWT too: check that this machine's "
                        "clock is right (the JWT is valid from 30 s before to 30 min after signing)",
                        code=err.code,
                        http_status=err.http_status,
                        request_id=err.request_id,
                    ) from err
                resigned = True
                credentials.invalidate()
                self.log.info("Kling rejected the JWT as not yet valid or expired; re-signing once")
            except KlingError as err:
                _count_error(step, err)
                unsafe = step.method == "POST" and policy.outcome_unknown(err)
                if unsafe or not policy.is_retryable(err) or attempt >= policy.max_retries:
                    raise
                wait = policy.delay(attempt, err)
                attempt += 1
                self.log.warning(
                    "Kling %s %s failed (%s); retry %d of %d in %.1fs",
                    step.method,
                    step.path,
                    err,
                    attempt,
                    policy.max_retries,
                    wait,
                )
                yield _Sleep(wait)

    def _create(
        self, task_type: KlingTaskType, payload: Mapping[str, Any], retry_rate_limits: bool
    ) -> Plan[dict[str, Any]]:
        """POST a task; with an ``external_task_id`` this is idempotent: an existing task with it is returned.

        An unknown outcome (timeout, 5xx, dropped connection) is resolved by looking the id up before any
        second POST; a refusal such as "external_task_id already exists" is resolved the same way.
        """
        policy = replace(self.retry_policy, retry_rate_limits=retry_rate_limits)
        external_id = payload.get("external_task_id")
        attempt = 0
        while True:
            try:
                step = _Send("POST", task_type.path, body=payload, task_type=task_type.name)
                task = task_object((yield from self._call(step, policy)))
                metrics.task_created(task_type.name)
                self.log.info(
                    "Created Kling %s task: task_id=%s external_task_id=%s",
                    task_type.name,
                    task["task_id"],
                    external_id,
                )
                return task
            except KlingInvalidRequestError:
                existing = None if external_id is None else (yield from self._find(task_type, external_id))
                if existing is None:
                    raise
                self.log.info("A Kling task with external_task_id=%s exists already", external_id)
            except KlingError as err:
                if not (policy.is_retryable(err) and policy.outcome_unknown(err)):
                    raise
                if external_id is None:
                    raise KlingError(
                        f"Creating a Kling {task_type.name} task had an unknown outcome ({err}); not sending "
                        "it again, as that could create a second paid task. Set external_task_id to make "
                        "creation safe to retry."
                    ) from err
                if attempt >= policy.max_retries:
                    raise
                wait = policy.delay(attempt, err)
                attempt += 1
                self.log.warning(
                    "Creating a Kling %s task had an unknown outcome (%s); looking up external_task_id=%s "
                    "in %.1fs before creating again",
                    task_type.name,
                    err,
                    external_id,
                    wait,
                )
                yield _Sleep(wait)
                existing = yield from self._find(task_type, external_id)
                if existing is None:
                    continue
                self.log.info("The earlier create did succeed")
            self.log.info("Using Kling task %s (%s)", existing["task_id"], existing.get("task_status"))
            return existing

    def _get(self, task_type: KlingTaskType, task_id: str) -> Plan[dict[str, Any]]:
        task = task_object(
            (yield from self._call(_Send("GET", f"{task_type.path}/{task_id}", task_type=task_type.name)))
        )
        self.log.debug("Kling %s task %s is %s", task_type.name, task_id, task.get("task_status"))
        return task

    def _list(self, task_type: KlingTaskType, params: dict[str, str]) -> Plan[list[dict[str, Any]]]:
        return task_list(
            (yield from self._call(_Send("GET", task_type.path, params=params, task_type=task_type.name)))
        )

    def _find(self, task_type: KlingTaskType, external_id: str) -> Plan[dict[str, Any] | None]:
        try:
            task = yield from self._call(
                _Send("GET", f"{task_type.path}/{external_id}", task_type=task_type.name, lookup=True)
            )
        except KlingApiError as err:
            if not (isinstance(err, KlingInvalidRequestError) or err.http_status in (400, 404, 405)):
                raise
            task = None
        if _external_id(task) == external_id:
            return task_object(task)
        for page in range(1, SCAN_MAX_PAGES + 1):
            tasks = yield from self._list(task_type, _page_params(page, SCAN_PAGE_SIZE))
            for candidate in tasks:
                if _external_id(candidate) == external_id:
                    return candidate
            if len(tasks) < SCAN_PAGE_SIZE:
                break
        return None

    # -- public API ---------------------------------------------------------------------------------------

    def create_task(
        self,
        task_type: str,
        payload: Mapping[str, Any],
        *,
        retry_rate_limits: bool = True,
        validate: bool = True,
    ) -> dict[str, Any]:
        """Create a task and return Kling's task object; safe to retry when ``external_task_id`` is set.

        The body is checked against the spec first and image files are read in (``validate=False`` for a
        caller that already did, such as the operators): a certain mistake raises ``KlingValidationError``
        before anything is sent, a value outside the known sets is logged as a warning and sent.
        ``retry_rate_limits=False`` raises 1302/1303 at once, for callers that queue on them themselves.
        """
        if validate:
            from airflow_provider_kling.images import resolve_images
            from airflow_provider_kling.payloads import validate_payload

            body, warnings = validate_payload(task_type, payload)
            for warning in warnings:
                self.log.warning("Kling %s request: %s", task_type, warning)
            payload = resolve_images(task_type, body, self.log.warning)
        elif payload.get("external_task_id") is not None:
            validate_task_id(payload["external_task_id"], "external_task_id")
        return self._run(self._create(get_task_type(task_type), payload, retry_rate_limits))

    def post_step(self, step: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """One step of a two-step flow, answered at once (``identify-face``, ``init-selection``,
        ``add-selection``, ...; see ``spec.SESSION_STEPS``): the answer's ``data`` object.

        The body is validated first. A step is no task and has no ``external_task_id``, so an answer lost to a
        timeout or 5xx is not sent again here; the caller decides (the operators open a new session).
        """
        from airflow_provider_kling.payloads import validate_step
        from airflow_provider_kling.spec import SESSION_STEPS

        checked = validate_step(step, body)
        data = self._run(self._call(_Send("POST", SESSION_STEPS[step].path, body=checked)))
        if not isinstance(data, dict):
            raise KlingResponseError(f"answer to {step} is not an object (it is {type(data).__name__})")
        return data

    def get_quota(self, resource_pack_type: str | None = None) -> Quota:
        """What the account has left, normalized (``quota.Quota``): Kling's resource packs (``online`` ones,
        matching ``resource_pack_type`` - a pack type or part of a pack's name - when given) or a gateway's
        billing, as the connection's ``quota_source`` extra says (``auto``: a host ending in ``/kling`` is a
        gateway). Kling's figure lags by up to ~12 h and its endpoint allows 1 request/s."""
        source = self.get_settings().quota_from
        if source == "none":
            raise KlingConnectionConfigError(
                f"Connection {self.kling_conn_id!r} has quota_source 'none': no quota can be read"
            )
        if source == "kling":
            now = int(time.time() * 1000)
            window = {"start_time": str(now - 24 * 3600 * 1000), "end_time": str(now)}
            data = self._run(self._call(_Send("GET", "account/costs", params=window)))
            return from_kling_packs(data, resource_pack_type)
        try:
            subscription = self._run(self._call(_gateway("v1/dashboard/billing/subscription")))
            usage = self._run(self._call(_gateway("v1/dashboard/billing/usage")))
            return from_gateway_billing(subscription, usage)
        except KlingApiError as err:
            if err.http_status not in (404, 405):
                raise
        return from_gateway_token_usage(self._run(self._call(_gateway("api/usage/token"))))

    def get_task(self, task_type: str, task_id: str) -> dict[str, Any]:
        """Query one task by its Kling task id."""
        return self._run(self._get(get_task_type(task_type), validate_task_id(task_id)))

    def find_task(self, task_type: str, external_task_id: str) -> dict[str, Any] | None:
        """The task created with ``external_task_id``, or ``None``."""
        external_task_id = validate_task_id(external_task_id, "external_task_id")
        return self._run(self._find(get_task_type(task_type), external_task_id))

    def list_tasks(self, task_type: str, page_num: int = 1, page_size: int = 30) -> list[dict[str, Any]]:
        """One page of the account's tasks of this type, newest first."""
        return self._run(self._list(get_task_type(task_type), _page_params(page_num, page_size)))

    async def aget_task(self, task_type: str, task_id: str) -> dict[str, Any]:
        """Async twin of ``get_task``."""
        return await self._arun(self._get(get_task_type(task_type), validate_task_id(task_id)))

    async def afind_task(self, task_type: str, external_task_id: str) -> dict[str, Any] | None:
        """Async twin of ``find_task``."""
        external_task_id = validate_task_id(external_task_id, "external_task_id")
        return await self._arun(self._find(get_task_type(task_type), external_task_id))

    async def alist_tasks(
        self, task_type: str, page_num: int = 1, page_size: int = 30
    ) -> list[dict[str, Any]]:
        """Async twin of ``list_tasks``."""
        return await self._arun(self._list(get_task_type(task_type), _page_params(page_num, page_size)))

    def test_connection(self) -> tuple[bool, str]:
        """The UI's Test button: one cheap authenticated call (list one task), one try: it answers at once."""
        probe = KlingHook(self.kling_conn_id, retry_policy=RetryPolicy(max_retries=0))
        try:
            probe.list_tasks("text2video", page_size=1)
        except (KlingError, ValueError) as err:
            return False, f"Kling connection {self.kling_conn_id!r} failed: {err}"
        return True, f"Connected to Kling at {probe.base_url}"

    # -- connection form ----------------------------------------------------------------------------------

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Connection form layout for Airflow before 3.2, taken from the provider info newer cores read."""
        from airflow_provider_kling.get_provider_info import get_provider_info

        behaviour = get_provider_info()["connection-types"][0]["ui-field-behaviour"]
        return {key.replace("-", "_"): value for key, value in behaviour.items()}

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Extra form fields for Airflow before 3.2 (newer cores read ``conn-fields``)."""
        from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import IntegerField, PasswordField, StringField
        from wtforms.validators import NumberRange, Optional

        return {
            "timeout": StringField(
                lazy_gettext("Timeout (seconds per request)"), widget=BS3TextFieldWidget()
            ),
            "max_retries": IntegerField(
                lazy_gettext("Max retries"),
                widget=BS3TextFieldWidget(),
                validators=[Optional(), NumberRange(0)],
            ),
            "ca_bundle": StringField(lazy_gettext("CA bundle (optional)"), widget=BS3TextFieldWidget()),
            "callback_base_url": StringField(
                lazy_gettext("Callback base URL (event-driven, optional)"), widget=BS3TextFieldWidget()
            ),
            "callback_secret": PasswordField(
                lazy_gettext("Callback secret (event-driven, optional)"), widget=BS3PasswordFieldWidget()
            ),
            "webhook_secret": PasswordField(
                lazy_gettext("Webhook secret (optional)"), widget=BS3PasswordFieldWidget()
            ),
        }

"""Kling's side of the HTTP API (kling-api.md), as an ``aiohttp.web`` application with in-memory state.

Written only from the API document, never from the provider code, so tests against it check the provider
against Kling's contract rather than against itself.

Every task type of §2 is served under both ``/v1/...`` and the gateway form ``/kling/v1/...``: create
``POST .../{action}/{path}``, query ``GET .../{action}/{path}/{task id or external id}``, list
``GET .../{action}/{path}?pageNum&pageSize``; ``path`` may hold a slash (``videos/avatar/image2video``). The
session endpoints of the two-step flows live beside them (``sessions.py``). Credentials are checked before
routing (401 on any API path); then an unknown path or method answers HTTP 404 code 1202, an unknown task id
HTTP 404 code 1203. ``GET /account/costs`` (Kling direct only) lists the resource packs.

Task status is computed from timestamps on every read (no timers per task), so 10,000+ tasks cost only
memory. Concurrency (code 1303) uses one resource-pack pool per kind, each with the same
``concurrency_limit``: "video" (every ``videos/*`` task, 1 slot), "image" (``n`` slots), "try-on" (1 slot)
and "audio" (1 slot). A task holds its slots from creation until it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from airflow_provider_kling.testing import gateway
from airflow_provider_kling.testing.auth import account_of, check_auth
from airflow_provider_kling.testing.billing import charge, select_packs
from airflow_provider_kling.testing.callbacks import CallbackDispatcher
from airflow_provider_kling.testing.config import AUTH_FIELDS, EmulatorConfig
from airflow_provider_kling.testing.controls import Controls
from airflow_provider_kling.testing.faults import CODE_MESSAGES, Fault, FaultInjector, status_for_code
from airflow_provider_kling.testing.media import FILES, file_parts, zero_chunks
from airflow_provider_kling.testing.sessions import (
    Session,
    identify_face_answer,
    init_selection_answer,
    new_session,
    preview_answer,
    selection_answer,
)
from airflow_provider_kling.testing.stats import Stats
from airflow_provider_kling.testing.tasks import (
    EXTEND_DURATION,
    IMAGE_TYPES_WITH_N,
    POOLS,
    ROUTES,
    TASK_TYPES,
    Task,
    render_task,
)
from airflow_provider_kling.testing.validation import SESSION_RULES, Invalid, validate, validate_create

PREFIXES = ("/v1", "/kling/v1")
#: Paths outside Kling's API: result files (public, like a CDN) and the emulator's own controls.
UNAUTHENTICATED_PREFIXES = ("/media/", "/emulator/")
#: ``{action}/{path}`` of the session endpoints -> the endpoint's name in SESSION_RULES
SESSION_ROUTES = {
    "videos/identify-face": "identify-face",
    **{f"videos/multi-elements/{name}": name for name in SESSION_RULES if name.endswith("-selection")},
}
SESSION_MEDIA = re.compile(r"(?:face-\d+|mask-\d+|cover)\.png|(?:normalized|preview|tracking)\.mp4")
HTML_PAGE = (
    "<html><head><title>{status} Bad Gateway</title></head><body><center><h1>{status} Bad Gateway</h1>"
    "</center><hr><center>nginx</center></body></html>"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class _Answer:
    """Per-request notes from the handler to the middleware (a ContextVar works on every aiohttp 3.x)."""

    delay: float = 0.0
    drop: bool = False
    code: int | None = None


_ANSWER: ContextVar[_Answer] = ContextVar("kling_emulator_answer")


class KlingEmulator:
    """State plus request handlers. Not thread-safe: use it from the event loop that serves the app."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = (config or EmulatorConfig()).copy()
        self.config.validate()
        self._initial = self.config.copy()
        self._faults = FaultInjector(self.config.seed)
        self._durations = random.Random(self.config.seed)  # its own stream: spreads never move faults
        self._next_id = int.from_bytes(uuid.uuid4().bytes[:8]) % (9 * 10**17 - 10**12) + 10**17
        self._callbacks = CallbackDispatcher(lambda: self.config, self.now, self._count_callback)
        self._clear()

    def _clear(self) -> None:
        self.stats = Stats()
        self._tasks: dict[str, Task] = {}
        self._by_type: dict[str, list[Task]] = {name: [] for name in TASK_TYPES}
        self._by_external_id: dict[str, Task] = {}
        self._videos: dict[str, Task] = {}
        self._sessions: dict[str, Session] = {}
        self._pool_heap: dict[str, list[tuple[float, int]]] = {pool: [] for pool in POOLS}
        self._pool_used: dict[str, int] = dict.fromkeys(POOLS, 0)
        self._last_costs_call: dict[str, float] = {}
        self._callbacks.clear()

    def _count_callback(self, event: str) -> None:
        name = f"callbacks_{event}"
        setattr(self.stats, name, getattr(self.stats, name) + 1)

    # ---- public helpers -------------------------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self.config.clock_offset

    def update_config(self, updates: dict[str, Any]) -> dict[str, Any]:
        """Shallow-merge ``updates`` (raises ValueError on a bad key or value); returns the whole config."""
        self.config = self.config.merged(updates)
        if "seed" in updates:
            self._reseed()
        return self.config.to_dict()

    def reset(self) -> None:
        """Forget tasks, sessions, stats and queued faults; restore the start-up config except auth."""
        auth = {name: getattr(self.config, name) for name in AUTH_FIELDS}
        self.config = self._initial.merged(auth)
        self._reseed()
        self._clear()

    def _reseed(self) -> None:
        self._faults.reseed(self.config.seed)
        self._durations.seed(self.config.seed)

    def stats_dict(self) -> dict[str, Any]:
        out = self.stats.to_dict()
        now = self.now()
        out["tasks_by_status"] = dict(Counter(task.status(now) for task in self._tasks.values()))
        by_type: dict[str, float] = {}
        for task in self._tasks.values():
            if task.status(now) == "succeed":
                by_type[task.task_type] = by_type.get(task.task_type, 0.0) + task.units
        out["units_charged"] = round(sum(by_type.values()), 6)
        out["units_charged_by_type"] = {name: round(units, 6) for name, units in by_type.items()}
        return out

    def task_snapshot(self, task_id: str, base_url: str = "") -> dict[str, Any] | None:
        task = self._tasks.get(task_id)
        return None if task is None else render_task(task, self.now(), base_url)

    # ---- what the create rules ask (validation.State) -----------------------------------------------------

    def video_seconds(self, video_id: str) -> float | None:
        task = self._videos.get(video_id)
        if task is None or task.status(self.now()) != "succeed":
            return None
        return float(task.duration or 0)

    def session(self, kind: str, session_id: str) -> Session | None:
        session = self._sessions.get(session_id)
        return session if session is not None and session.kind == kind and session.alive(self.now()) else None

    # ---- application ----------------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        app.cleanup_ctx.append(self._callbacks.context)
        for path in ("/v1/dashboard/billing/subscription", "/v1/dashboard/billing/usage", "/api/usage/token"):
            app.router.add_get(path, self._gateway_billing_handler)
        for prefix in PREFIXES:
            app.router.add_route("*", prefix + "/{rest:.*}", self._api_handler)
        app.router.add_get("/account/costs", self._costs_handler)
        app.router.add_get("/media/{owner}/{name}", self._media_handler)
        Controls(self).add_routes(app)
        app.router.add_route("*", "/{tail:.*}", self._unknown_handler)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Counting, the request log and slowness; controls bypass all of it."""
        if request.path.startswith("/emulator/"):
            return await handler(request)
        is_media = request.path.startswith("/media/")
        if is_media and self.config.slow_seconds:
            await asyncio.sleep(self.config.slow_seconds)
        if not is_media:
            self.stats.requests_total += 1
        answer = _Answer()
        token = _ANSWER.set(answer)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            self._record(request, exc.status, None, is_media)
            raise
        finally:
            _ANSWER.reset(token)
        delay = 0.0 if is_media else self.config.slow_seconds + answer.delay
        if delay > 0:  # after handling: a slow create has still created its task
            await asyncio.sleep(delay)
        if answer.drop:
            if request.transport is not None:
                request.transport.close()
            self._record(request, None, None, is_media)
        else:
            self._record(request, response.status, answer.code, is_media)
        return response

    def _record(self, request: web.Request, status: int | None, code: int | None, is_media: bool) -> None:
        if not is_media and status is not None:
            self.stats.http_status[str(status)] += 1
        if code is not None and not is_media:
            self.stats.answers_by_code[str(code)] += 1
        self.stats.request_log.append(
            {"t": time.time(), "method": request.method, "path": request.path, "status": status, "code": code}
        )

    # ---- answers --------------------------------------------------------------------------------------

    def base_url(self, request: web.Request) -> str:
        return (self.config.public_base_url or str(request.url.origin())).rstrip("/")

    @staticmethod
    def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> web.Response:
        return web.Response(
            status=status, text=json.dumps(payload), content_type="application/json", headers=headers
        )

    def _ok(self, request: web.Request, data: Any) -> web.Response:
        _ANSWER.get().code = 0
        return self._json(
            200, {"code": 0, "message": "SUCCEED", "request_id": str(uuid.uuid4()), "data": data}
        )

    def _error(
        self,
        request: web.Request,
        code: int,
        message: str,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        _ANSWER.get().code = code
        payload = {"code": code, "message": message, "request_id": str(uuid.uuid4())}
        return self._json(status or status_for_code(code), payload, headers)

    def _fault_response(self, request: web.Request, fault: Fault) -> web.Response:
        kind = fault.kind or ""
        self.stats.faults_injected[kind] += 1
        if fault.after_create:
            self.stats.faults_injected["after_create"] += 1
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
        if kind == "drop":
            _ANSWER.get().drop = True
            return web.Response(status=500)
        if kind == "malformed":
            text = (
                '{"code": 0, "message": "SUCCEED", "request_id": "' + str(uuid.uuid4()) + '", "data": {"task_'
            )
            return web.Response(status=fault.status or 200, text=text, content_type="application/json")
        if kind == "html":
            status = fault.status or 502
            return web.Response(
                status=status, text=HTML_PAGE.format(status=status), content_type="text/html", headers=headers
            )
        if kind == "gateway_error":
            error = {
                "message": fault.message or "upstream error",
                "type": fault.error_type or "upstream_error",
            }
            return self._json(fault.status or 502, {"error": error}, headers)
        code = int(kind)
        message = fault.message or CODE_MESSAGES.get(code, "injected error")
        return self._error(request, code, message, fault.status, headers)

    # ---- API handlers ---------------------------------------------------------------------------------

    async def _api_handler(self, request: web.Request) -> web.StreamResponse:
        """Route ``{action}/{path}[/{id}]`` by matching the known type paths (which may hold a slash)."""
        rest, method = request.match_info["rest"], request.method
        if rest in ROUTES and method == "POST":
            return await self._create(request, ROUTES[rest])
        if rest in ROUTES and method == "GET":
            return await self._list(request, ROUTES[rest])
        head, _, ident = rest.rpartition("/")
        if head in ROUTES and ident and method == "GET":
            return await self._query(request, ROUTES[head], ident)
        if rest in SESSION_ROUTES and method == "POST":
            return await self._session_call(request, SESSION_ROUTES[rest])
        return await self._unknown_handler(request)

    def _pre(self, request: web.Request, op: str) -> tuple[web.Response | None, Fault | None]:
        """Faults, then auth. Returns an answer that pre-empts the handler, and an after-create fault."""
        fault = self._faults.before(op, self.config)
        if fault is not None:
            _ANSWER.get().delay += fault.delay
            if fault.answers and not (fault.after_create and op == "create"):
                return self._fault_response(request, fault), None
            if not fault.answers:
                fault = None
        if self.config.require_auth:
            error = check_auth(request.headers.get("Authorization"), self.config, self.now())
            if error is not None:
                return self._error(request, error[0], error[1]), None
        return None, fault

    async def _json_body(self, request: web.Request) -> Any:
        """The parsed body, or None when it is not JSON."""
        try:
            return json.loads(await request.read())
        except ValueError:
            return None

    def _finish(self, request: web.Request, fault: Fault | None, data: Any) -> web.Response:
        """Answer a create that did its work: normally, or with the after-create fault it drew (consumed)."""
        if fault is None:
            return self._ok(request, data)
        if fault.entry is not None:
            with contextlib.suppress(ValueError):
                self.config.fail_requests.remove(fault.entry)
        return self._fault_response(request, fault)

    async def _create(self, request: web.Request, task_type: str) -> web.StreamResponse:
        self.stats.create_attempts += 1
        body = await self._json_body(request)
        external = body.get("external_task_id") if isinstance(body, dict) else None
        if external and isinstance(external, str):
            self.stats.creates_by_external_id[external] += 1
        answer, fault = self._pre(request, "create")
        if answer is not None:
            return answer
        if body is None:
            return self._error(request, 1201, "invalid parameter: request body must be valid JSON")
        try:
            body = validate_create(task_type, body, self, strict=self.config.strict_fields)
        except Invalid as exc:
            return self._error(request, 1201, f"invalid parameter: {exc}")
        external_id = body.get("external_task_id")
        if external_id is not None and external_id in self._by_external_id:
            return self._error(request, 1201, "external_task_id already exists")
        kind = TASK_TYPES[task_type]
        slots = int(body.get("n", 1)) if kind.pool == "image" else 1
        limit = self.config.concurrency_limit
        now = self.now()
        if limit is not None and self._slots_in_use(kind.pool, now) + slots > limit:
            return self._error(request, 1303, CODE_MESSAGES[1303])
        task = self._add_task(task_type, body, now, self.base_url(request), slots)
        return self._finish(request, fault, render_task(task, now, self.base_url(request)))

    async def _query(self, request: web.Request, task_type: str, ident: str) -> web.StreamResponse:
        answer, _ = self._pre(request, "query")
        if answer is not None:
            return answer
        task = self._tasks.get(ident)
        if task is None or task.task_type != task_type:
            task = self._by_external_id.get(ident)
            if task is None or task.task_type != task_type:
                return self._error(request, 1203, "task not found")
            self.stats.queries_by_external_id[ident] += 1
        self.stats.queries_by_task[task.task_id] += 1
        return self._ok(request, render_task(task, self.now(), self.base_url(request)))

    async def _list(self, request: web.Request, task_type: str) -> web.StreamResponse:
        self.stats.list_requests += 1
        answer, _ = self._pre(request, "query")
        if answer is not None:
            return answer
        page: dict[str, int] = {}
        for name, default, maximum in (("pageNum", 1, 1000), ("pageSize", 30, 500)):
            value = request.query.get(name)
            number = int(value) if value is not None and value.strip().isdigit() else None
            if value is None:
                number = default
            if number is None or not 1 <= number <= maximum:
                return self._error(request, 1201, f"invalid parameter: {name} must be an integer 1-{maximum}")
            page[name] = number
        tasks = self._by_type[task_type]
        end = len(tasks) - (page["pageNum"] - 1) * page["pageSize"]
        start = max(0, end - page["pageSize"])
        now, base = self.now(), self.base_url(request)
        return self._ok(request, [render_task(t, now, base) for t in reversed(tasks[start : max(end, 0)])])

    async def _session_call(self, request: web.Request, name: str) -> web.StreamResponse:
        """identify-face and the multi-elements selection endpoints: answered at once (``sessions.py``)."""
        self.stats.session_requests[name] += 1
        body = await self._json_body(request)
        answer, fault = self._pre(request, "create")
        if answer is not None:
            return answer
        if body is None:
            return self._error(request, 1201, "invalid parameter: request body must be valid JSON")
        try:
            body = validate(SESSION_RULES[name], name, body, self, strict=self.config.strict_fields)
        except Invalid as exc:
            return self._error(request, 1201, f"invalid parameter: {exc}")
        return self._finish(request, fault, self._apply_session_call(name, body, self.base_url(request)))

    def _apply_session_call(self, name: str, body: dict[str, Any], base_url: str) -> dict[str, Any]:
        now = self.now()
        if name in ("identify-face", "init-selection"):
            seconds = self.video_seconds(body["video_id"]) if "video_id" in body else 5.0
            kind = "identify-face" if name == "identify-face" else "multi-elements"
            faces = self.config.faces_per_video if kind == "identify-face" else 0
            session = new_session(kind, now, seconds or 5.0, faces)
            self._sessions[session.session_id] = session
            self.stats.sessions_created[kind] += 1
            if kind == "identify-face":
                return identify_face_answer(session, base_url)
            return init_selection_answer(session, base_url)
        session = self._sessions[body["session_id"]]  # the rules checked it is live
        self.stats.selection_calls[name] += 1
        if name == "preview-selection":
            return preview_answer(session, base_url)
        if name == "clear-selection":
            session.selections.clear()
            return {"status": 0, "session_id": session.session_id}
        frame, points = body["frame_index"], body["points"]
        marked = session.selections.setdefault(frame, [])
        if name == "add-selection":
            marked.extend(points)
        else:
            marked[:] = [point for point in marked if point not in points]
        if not marked:
            del session.selections[frame]
        return selection_answer(session, frame, base_url)

    async def _costs_handler(self, request: web.Request) -> web.StreamResponse:
        """``GET /account/costs`` (§8): the account's resource packs, at most one call per second."""
        self.stats.costs_requests += 1
        answer, _ = self._pre(request, "query")
        if answer is not None:
            return answer
        now = self.now()
        account = account_of(request.headers.get("Authorization"))
        last = self._last_costs_call.get(account)
        if last is not None and now - last < self.config.costs_min_interval:
            return self._error(request, 1302, CODE_MESSAGES[1302])
        self._last_costs_call[account] = now
        bounds: dict[str, int] = {}
        for name in ("start_time", "end_time"):
            value = request.query.get(name, "").strip()
            if not value.isdigit():
                return self._error(request, 1201, f"invalid parameter: {name} must be a Unix time in ms")
            bounds[name] = int(value)
        if bounds["start_time"] > bounds["end_time"]:
            return self._error(request, 1201, "invalid parameter: start_time must not be after end_time")
        pack_name = request.query.get("resource_pack_name") or None
        packs = select_packs(self.config.resource_packs, bounds["start_time"], bounds["end_time"], pack_name)
        return self._ok(request, {"code": 0, "msg": "SUCCEED", "resource_pack_subscribe_infos": packs})

    async def _gateway_billing_handler(self, request: web.Request) -> web.StreamResponse:
        """A gateway's billing endpoints at its root (``gateway.py``): Bearer auth, then its JSON shapes."""
        self.stats.billing_requests += 1
        if self.config.require_auth:
            error = check_auth(request.headers.get("Authorization"), self.config, self.now())
            if error is not None:
                return self._json(401, {"error": {"message": error[1], "type": "authentication_error"}})
        status, body = gateway.answer(request.path, self.config.gateway_billing)
        return self._json(status, body)

    async def _unknown_handler(self, request: web.Request) -> web.StreamResponse:
        """Kling checks credentials before routing: a bad token gets 401 on any API path, known or not."""
        if self.config.require_auth and not request.path.startswith(UNAUTHENTICATED_PREFIXES):
            error = check_auth(request.headers.get("Authorization"), self.config, self.now())
            if error is not None:
                return self._error(request, error[0], error[1])
        message = f"invalid request: no such method or path {request.method} {request.path}"
        return self._error(request, 1202, message)

    # ---- tasks ----------------------------------------------------------------------------------------

    def _slots_in_use(self, pool: str, now: float) -> int:
        heap = self._pool_heap[pool]
        while heap and heap[0][0] <= now:
            self._pool_used[pool] -= heapq.heappop(heap)[1]
        return self._pool_used[pool]

    def _source(self, task_type: str, body: dict[str, Any]) -> tuple[Task | None, float | None]:
        """The task whose video this one works on, and the source video's length when known."""
        video_id = body.get("input", {}).get("video_id") if task_type == "lip-sync" else body.get("video_id")
        parent = self._videos.get(video_id) if isinstance(video_id, str) else None
        if parent is not None:
            return parent, float(parent.duration or 0)
        session = self._sessions.get(str(body.get("session_id")))
        return None, session.video_seconds if session is not None else None

    def _add_task(self, task_type: str, body: dict[str, Any], now: float, base_url: str, slots: int) -> Task:
        cfg = self.config
        kind = TASK_TYPES[task_type]
        durations = cfg.task_durations
        default = durations.get(f"{kind.action}/{task_type}", cfg.task_duration)
        duration = float(durations.get(task_type, default))
        if cfg.task_duration_spread:
            duration += self._durations.uniform(0, cfg.task_duration_spread)
        fail_message: str | None = None
        if cfg.fail_next and int(cfg.fail_next.get("count", 1)) > 0:
            fail_message = str(cfg.fail_next.get("message", "task failed"))
            remaining = int(cfg.fail_next.get("count", 1)) - 1
            cfg.fail_next = {**cfg.fail_next, "count": remaining} if remaining > 0 else None
        self._next_id += 1
        task_id = str(self._next_id)
        spec = body.get("input", {})
        parent, source_seconds = self._source(task_type, body)
        video_duration: str | None = None
        if kind.makes_video:
            requested = body.get("duration") or spec.get("duration")
            video_duration = (
                EXTEND_DURATION
                if task_type == "video-extend"
                else str(requested)
                if requested
                else f"{source_seconds:g}"
                if source_seconds
                else "5"
            )
        audio_seconds: str | None = None
        if "audios" in kind.results:
            if task_type == "text-to-audio":
                audio_seconds = f"{float(body['duration']):.1f}"
            elif task_type == "tts":
                audio_seconds = f"{max(1.0, len(body['text']) / 12):.1f}"
            else:
                audio_seconds = video_duration
        outputs = slots if task_type in IMAGE_TYPES_WITH_N else 1
        units = charge(
            cfg.unit_charges,
            task_type,
            kind.action,
            quality if (quality := body.get("mode") or spec.get("mode")) in ("pro", "4k") else "std",
            float(video_duration or 0),
            outputs,
        )
        watermark = body.get("watermark_info")
        task = Task(
            task_id=task_id,
            task_type=task_type,
            created=now,
            processing_at=now + min(cfg.submitted_seconds, duration),
            done_at=now + duration,
            fail_message=fail_message,
            external_task_id=body.get("external_task_id"),
            callback_url=body.get("callback_url"),
            base_url=base_url,
            outputs=outputs,
            duration=video_duration,
            video_ids=(
                [str(uuid.uuid5(uuid.NAMESPACE_URL, f"kling-emulator/{task_id}/0"))]
                if kind.makes_video
                else []
            ),
            parent=parent,
            audio_seconds=audio_seconds,
            series=task_type == "omni-image" and outputs > 1,
            units=units,
            list_price=units * cfg.unit_list_price,
            watermark=watermark["enabled"] if isinstance(watermark, dict) else None,
        )
        self._tasks[task_id] = task
        self._by_type[task_type].append(task)
        if task.external_task_id is not None:
            self._by_external_id[task.external_task_id] = task
        if fail_message is None:
            self._videos.update(dict.fromkeys(task.video_ids, task))
        heapq.heappush(self._pool_heap[task.pool], (task.done_at, slots))
        self._pool_used[task.pool] += slots
        self.stats.creates += 1
        if task.callback_url:
            self._callbacks.add(task)
        return task

    # ---- media ----------------------------------------------------------------------------------------

    def _media_ext(self, owner: str, name: str) -> str | None:
        """The extension of a file that exists now: a result of a succeeded task, or a session's picture."""
        task = self._tasks.get(owner)
        if task is not None:
            ok = task.status(self.now()) == "succeed" and name in task.media_names()
            return name.rpartition(".")[2] if ok else None
        session = self._sessions.get(owner)
        if session is not None and session.alive(self.now()) and SESSION_MEDIA.fullmatch(name):
            return name.rpartition(".")[2]
        return None

    async def _media_handler(self, request: web.Request) -> web.StreamResponse:
        """Serve a result file; no auth, like a CDN URL. Large sizes are streamed as file + padding."""
        self.stats.media_requests += 1
        ext = self._media_ext(request.match_info["owner"], request.match_info["name"])
        if ext is None:
            return self._error(request, 1203, "media not found")
        head, padding = file_parts(ext, self.config.media_size_bytes)
        response = web.StreamResponse(headers={"Content-Type": FILES[ext][1]})
        response.content_length = len(head) + padding
        await response.prepare(request)
        if request.method != "HEAD":
            await response.write(head)
            for chunk in zero_chunks(padding):
                await response.write(chunk)
        await response.write_eof()
        return response

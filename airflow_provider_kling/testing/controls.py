"""The emulator's own control API under ``/emulator/`` (not Kling's): config, reset, stats, raw tasks.

Hardened because it has no auth and may be reachable from a browser on the same machine:

- answers never carry secrets: ``api_tokens``, ``access_keys`` and ``webhook_secret`` are shown redacted;
- a POST must be ``Content-Type: application/json`` (else 415, nothing changed): a cross-site page can only
  send "simple" requests (``text/plain``, forms), and a JSON POST from another origin needs a CORS preflight,
  which is refused (``OPTIONS`` answers 405 like every method a control does not serve);
- an unknown control path answers 404, an unsupported method 405 with ``Allow``, never 500.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from airflow_provider_kling.testing.emulator import KlingEmulator

ControlHandler = Callable[[web.Request, dict[str, Any]], Awaitable[web.Response]]


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(payload), content_type="application/json", headers=headers
    )


class Controls:
    """Routes ``/emulator/{name}`` to one handler per (path, method)."""

    def __init__(self, emulator: KlingEmulator) -> None:
        self.emulator = emulator
        self._routes: list[tuple[re.Pattern[str], dict[str, ControlHandler]]] = [
            (re.compile("config"), {"GET": self._get_config, "POST": self._post_config}),
            (re.compile("reset"), {"POST": self._reset}),
            (re.compile("stats"), {"GET": self._stats}),
            (re.compile("tasks/(?P<task_id>[^/]+)"), {"GET": self._task}),
        ]

    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/emulator/{name:.*}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        for pattern, methods in self._routes:
            match = pattern.fullmatch(name)
            if match is None:
                continue
            allowed = sorted({*methods, *(["HEAD"] if "GET" in methods else [])})
            method = "GET" if request.method == "HEAD" and "GET" in methods else request.method
            if method not in methods:
                error = {"error": f"{request.method} not allowed on {request.path}"}
                return _json(405, error, {"Allow": ", ".join(allowed)})
            if method == "POST" and request.content_type != "application/json":
                return _json(415, {"error": "control requests must be Content-Type: application/json"})
            return await methods[method](request, match.groupdict())
        return _json(404, {"error": f"no such control: {request.path}"})

    def _config(self) -> dict[str, Any]:
        return self.emulator.config.public_dict()

    async def _get_config(self, request: web.Request, _: dict[str, Any]) -> web.Response:
        return _json(200, self._config())

    async def _post_config(self, request: web.Request, _: dict[str, Any]) -> web.Response:
        try:
            updates = json.loads(await request.read() or b"{}")
            if not isinstance(updates, dict):
                raise ValueError("config body must be a JSON object")
            self.emulator.update_config(updates)
        except (ValueError, TypeError) as exc:
            return _json(400, {"error": str(exc)})
        return _json(200, self._config())

    async def _reset(self, request: web.Request, _: dict[str, Any]) -> web.Response:
        self.emulator.reset()
        return _json(200, self._config())

    async def _stats(self, request: web.Request, _: dict[str, Any]) -> web.Response:
        return _json(200, self.emulator.stats_dict())

    async def _task(self, request: web.Request, params: dict[str, Any]) -> web.Response:
        snapshot = self.emulator.task_snapshot(params["task_id"], self.emulator.base_url(request))
        if snapshot is None:
            return _json(404, {"code": 1203, "message": "task not found"})
        return _json(200, snapshot)

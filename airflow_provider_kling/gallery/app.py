"""The gallery's FastAPI app, mounted by the API server under ``/kling`` (``plugins/gallery.py``).

Plugin endpoints are not behind Airflow's auth by default, so every route that shows generations depends on
the API server's own security: the user comes from the JWT (bearer header or the UI's cookie) through
``GetUserDep``, the route needs what Airflow's XCom list endpoint needs (``requires_access_dag`` with
``DagAccessEntity.XCOM``, for the ``dag_id`` asked for, if any), and the rows are limited to the DAGs the auth
manager lets the user read.

``GET /`` is the page (server-rendered, no build step), ``GET /api/generations`` the same cards as JSON,
``GET /files`` streams a file ``KlingDownloadOperator`` kept, when ``[kling] gallery_media_roots`` allows.
"""

from __future__ import annotations

import mimetypes
from dataclasses import fields
from datetime import UTC, datetime
from importlib import resources
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import jinja2
from airflow.api_fastapi.app import API_ROOT_PATH, get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from airflow.providers.common.compat.sdk import conf
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from airflow_provider_kling.gallery.cards import Generation, Media
from airflow_provider_kling.gallery.store import (
    MAX_PAGE_SIZE,
    STATUSES,
    GalleryPage,
    GalleryQuery,
    Status,
    find_generations,
    find_stored_file,
    gallery_dag_ids,
    local_copy,
    media_roots,
)
from airflow_provider_kling.spec import TASK_TYPES

PACKAGE = "airflow_provider_kling.gallery"
CAN_READ_XCOMS = Depends(requires_access_dag(method="GET", access_entity=DagAccessEntity.XCOM))
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader(PACKAGE, "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def readable_dag_ids(user: GetUserDep) -> set[str]:
    """The DAGs the auth manager lets this user read (as Airflow's own list endpoints filter them)."""
    return get_auth_manager().get_authorized_dag_ids(user=user, method="GET")


ReadableDags = Annotated[set[str], Depends(readable_dag_ids)]


def _utc(name: str, text: str) -> datetime | None:
    """A time filter: ISO 8601, or a ``datetime-local`` form value (no zone: read as UTC)."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise HTTPException(422, f"{name} must be an ISO 8601 date and time, got {text!r}") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def gallery_query(
    dag_id: str = "",
    run_id: str = "",
    status: str = "",
    task_type: str = "",
    since: str = "",
    until: str = "",
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 24,
) -> GalleryQuery:
    """The filters from the query string; empty form fields mean no filter."""
    if status and status not in STATUSES:
        raise HTTPException(422, f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    if task_type and task_type not in TASK_TYPES:
        raise HTTPException(422, f"task_type must be a Kling task type, got {task_type!r}")
    chosen: Status | None = next((s for s in STATUSES if s == status), None)
    return GalleryQuery(
        dag_id=dag_id or None,
        run_id=run_id or None,
        status=chosen,
        task_type=task_type or None,
        since=_utc("since", since),
        until=_utc("until", until),
        page=page,
        page_size=page_size,
    )


GalleryQueryDep = Annotated[GalleryQuery, Depends(gallery_query)]


def ui_links(generation: Generation) -> dict[str, str]:
    """The Airflow UI's pages for the DAG run and the task instance (whose first tab is its log)."""
    run = f"{API_ROOT_PATH}dags/{quote(generation.dag_id, safe='')}/runs/{quote(generation.run_id, safe='')}"
    task = f"{run}/tasks/{quote(generation.task_id, safe='')}"
    if generation.map_index >= 0:
        task += f"/mapped/{generation.map_index}"
    return {"dag_run": run, "task": task}


def media_view(request: Request, media: Media, generation: Generation) -> dict[str, Any]:
    """One media element: ``src`` is the kept file when the gallery may serve it, else Kling's URL."""
    stored = media.stored
    src = media.url
    if stored is not None and local_copy(stored, request.app.state.media_roots) is not None:
        query = {
            "dag_id": generation.dag_id,
            "run_id": generation.run_id,
            "task_id": stored.task_id,
            "map_index": stored.map_index,
            "index": stored.index,
        }
        src = f"{request.scope.get('root_path', '')}/files?{urlencode(query)}"
    return {
        "kind": media.kind,
        "url": media.url,
        "src": src,
        "stored": None
        if stored is None
        else {"path": stored.path, "bytes": stored.size, "sha256": stored.sha256, "served": src != media.url},
    }


def card_view(request: Request, generation: Generation) -> dict[str, Any]:
    """What the page and the JSON show of one generation: its fields, the media to play, the UI links."""
    view = {
        field.name: getattr(generation, field.name) for field in fields(generation) if field.name != "media"
    }
    media = [media_view(request, media, generation) for media in generation.media]
    return {**view, "media": media, "links": ui_links(generation)}


def _when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{seconds:.1f} s"


def _form_time(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%dT%H:%M")


def page_links(result: GalleryPage) -> dict[str, str | None]:
    """Previous and next page URLs (relative, keeping the filters)."""
    query = result.query
    filters = {
        "dag_id": query.dag_id,
        "run_id": query.run_id,
        "status": query.status,
        "task_type": query.task_type,
        "since": _form_time(query.since),
        "until": _form_time(query.until),
        "page_size": query.page_size if query.page_size != GalleryQuery.page_size else None,
    }
    kept = {name: value for name, value in filters.items() if value}

    def link(page: int) -> str | None:
        return f"?{urlencode({**kept, 'page': page})}" if 1 <= page <= result.pages else None

    return {"previous": link(query.page - 1), "next": link(query.page + 1)}


def create_app() -> FastAPI:
    """The gallery app; ``[kling] gallery_media_roots`` is read once, when the API server mounts it."""
    app = FastAPI(title="Kling gallery", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.media_roots = media_roots(conf.get("kling", "gallery_media_roots", fallback="") or "")
    app.mount("/static", StaticFiles(directory=str(resources.files(PACKAGE) / "static")), name="static")

    @app.exception_handler(StarletteHTTPException)
    async def explain(request: Request, error: StarletteHTTPException) -> Response:
        """A person opening the page without a valid session is sent to Airflow's login; an API client (or a
        refusal) gets Airflow's usual JSON error, and never any generation."""
        if error.status_code == 401 and request.url.path.rstrip("/") == request.scope.get("root_path", ""):
            login = get_auth_manager().get_url_login(next_url=str(request.url))
            html = TEMPLATES.get_template("login.html").render(login_url=login)
            return HTMLResponse(html, status_code=401)
        return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers)

    @app.get("/", response_class=HTMLResponse, dependencies=[CAN_READ_XCOMS])
    def gallery(request: Request, readable: ReadableDags, query: GalleryQueryDep, session: SessionDep) -> str:
        result = find_generations(session, readable, query)
        return TEMPLATES.get_template("gallery.html").render(
            cards=[card_view(request, generation) for generation in result.generations],
            result=result,
            query=query,
            dag_ids=gallery_dag_ids(session, readable),
            statuses=STATUSES,
            task_types=sorted(TASK_TYPES),
            since=_form_time(query.since),
            until=_form_time(query.until),
            pager=page_links(result),
            when=_when,
            duration=_duration,
        )

    @app.get("/api/generations", dependencies=[CAN_READ_XCOMS])
    def generations(
        request: Request, readable: ReadableDags, query: GalleryQueryDep, session: SessionDep
    ) -> dict[str, Any]:
        result = find_generations(session, readable, query)
        return jsonable_encoder(
            {
                "total": result.total,
                "page": query.page,
                "pages": result.pages,
                "page_size": query.page_size,
                "generations": [card_view(request, generation) for generation in result.generations],
            }
        )

    @app.get("/files", name="stored_file", dependencies=[CAN_READ_XCOMS])
    def stored_file(
        request: Request,
        readable: ReadableDags,
        session: SessionDep,
        dag_id: str,
        run_id: str,
        task_id: str,
        map_index: int,
        index: Annotated[int, Query(ge=0)],
    ) -> FileResponse:
        stored = None
        if dag_id in readable:
            stored = find_stored_file(
                session, dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index, index=index
            )
        path = None if stored is None else local_copy(stored, request.app.state.media_roots)
        if path is None:
            raise HTTPException(404, "No kept file the gallery may serve")
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FileResponse(path, media_type=media_type)

    return app

"""Reading the gallery's generations from Airflow 3's metadata DB, limited to the DAGs a user may read.

A generation is a task instance with a ``kling_task`` XCom. Filters and paging run in SQL, so a page costs
three queries whatever the number of generations: the page, its count, and the page's downloads. The task
type comes from the operator's rendered ``kling_task_type`` or, where Airflow has pruned the rendered fields
of older runs, from the typed operator's class name.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from airflow.models.renderedtifields import RenderedTaskInstanceFields as RTIF
from airflow.models.taskinstance import TaskInstance as TI
from airflow.models.xcom import XComModel
from sqlalchemy import and_, func, or_, select

from airflow_provider_kling.gallery.cards import Generation, StoredFile, build_generation, stored_files
from airflow_provider_kling.protocol import KLING_TASK_XCOM_KEY
from airflow_provider_kling.spec import get_task_type

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from sqlalchemy.sql import Select

Status = Literal["succeed", "failed"]
STATUSES: tuple[Status, ...] = ("succeed", "failed")
DOWNLOAD_OPERATOR = "KlingDownloadOperator"
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class GalleryQuery:
    """What the page asks for; ``None`` means no filter. ``page`` counts from 1."""

    dag_id: str | None = None
    run_id: str | None = None
    status: Status | None = None
    task_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    page: int = 1
    page_size: int = 24


@dataclass(frozen=True)
class GalleryPage:
    generations: list[Generation]
    total: int
    query: GalleryQuery

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.query.page_size))


def _same_ti(model: Any) -> Any:
    """The join condition of a table keyed like a task instance to ``task_instance``."""
    return and_(
        TI.dag_id == model.dag_id,
        TI.run_id == model.run_id,
        TI.task_id == model.task_id,
        TI.map_index == model.map_index,
    )


def _filtered(statement: Select, readable: Collection[str], query: GalleryQuery) -> Select:
    statement = statement.where(XComModel.key == KLING_TASK_XCOM_KEY, XComModel.dag_id.in_(readable))
    if query.dag_id is not None:
        statement = statement.where(XComModel.dag_id == query.dag_id)
    if query.run_id is not None:
        statement = statement.where(XComModel.run_id == query.run_id)
    if query.status is not None:
        statement = statement.where(XComModel.value["task_status"].as_string() == query.status)
    if query.task_type is not None:
        typed_operator = get_task_type(query.task_type).operator
        statement = statement.where(
            or_(
                RTIF.rendered_fields["kling_task_type"].as_string() == query.task_type,
                TI.operator == typed_operator,
            )
        )
    if query.since is not None:
        statement = statement.where(XComModel.timestamp >= query.since)
    if query.until is not None:
        statement = statement.where(XComModel.timestamp < query.until)
    return statement


def find_generations(session: Session, readable: Collection[str], query: GalleryQuery) -> GalleryPage:
    """One page of the generations of the ``readable`` DAGs matching ``query``, newest first."""
    joined = (
        select(
            XComModel.dag_run_id,
            XComModel.dag_id,
            XComModel.run_id,
            XComModel.task_id,
            XComModel.map_index,
            XComModel.timestamp,
            XComModel.value,
            TI.operator,
            TI.try_number,
            RTIF.rendered_fields,
        )
        .select_from(XComModel)
        .join(TI, _same_ti(XComModel))
        .outerjoin(
            RTIF,
            and_(
                RTIF.dag_id == XComModel.dag_id,
                RTIF.run_id == XComModel.run_id,
                RTIF.task_id == XComModel.task_id,
                RTIF.map_index == XComModel.map_index,
            ),
        )
    )
    matching = _filtered(joined, readable, query)
    total = session.scalar(select(func.count()).select_from(matching.order_by(None).subquery())) or 0
    # Newest first; within one DAG run, in the DAG's order (variant 1 of a mapped task before variant 2).
    by_task = (XComModel.task_id, XComModel.map_index)
    order = by_task if query.run_id else (XComModel.timestamp.desc(), XComModel.dag_run_id.desc(), *by_task)
    rows = session.execute(
        matching.order_by(*order).offset((query.page - 1) * query.page_size).limit(query.page_size)
    ).all()
    stored = _downloads(session, {row.dag_run_id for row in rows})
    generations = [
        build_generation(
            dag_id=row.dag_id,
            run_id=row.run_id,
            task_id=row.task_id,
            map_index=row.map_index,
            try_number=row.try_number,
            finished_at=row.timestamp,
            kling_task=row.value,
            rendered_fields=row.rendered_fields,
            operator=row.operator,
            stored=stored.get(row.dag_run_id, {}),
        )
        for row in rows
    ]
    return GalleryPage(generations, int(total), query)


def _download_rows(dag_run_ids: Collection[int]) -> Select:
    return (
        select(XComModel.dag_run_id, XComModel.task_id, XComModel.map_index, XComModel.value)
        .join(TI, _same_ti(XComModel))
        .where(
            XComModel.key == "return_value",
            XComModel.dag_run_id.in_(dag_run_ids),
            TI.operator == DOWNLOAD_OPERATOR,
        )
    )


def _downloads(session: Session, dag_run_ids: Collection[int]) -> dict[int, dict[str, StoredFile]]:
    """DAG run id -> (Kling URL -> the file a ``KlingDownloadOperator`` of that run kept)."""
    if not dag_run_ids:
        return {}
    out: dict[int, dict[str, StoredFile]] = {}
    for row in session.execute(_download_rows(dag_run_ids)):
        out.setdefault(row.dag_run_id, {}).update(stored_files(row.task_id, row.map_index, row.value))
    return out


def gallery_dag_ids(session: Session, readable: Collection[str]) -> list[str]:
    """The readable DAGs that have generations: the DAG filter's choices."""
    statement = (
        select(XComModel.dag_id)
        .where(XComModel.key == KLING_TASK_XCOM_KEY, XComModel.dag_id.in_(readable))
        .distinct()
        .order_by(XComModel.dag_id)
    )
    return list(session.scalars(statement))


def media_roots(setting: str) -> list[Path]:
    """``[kling] gallery_media_roots``: directories (comma-separated) whose files the gallery may serve."""
    return [Path(os.path.realpath(part.strip())) for part in setting.split(",") if part.strip()]


def local_copy(stored: StoredFile, roots: Collection[Path]) -> Path | None:
    """The kept file, if the gallery may serve it: a local path inside a configured media root (links
    resolved), a regular file, and still the size the download recorded.

    The API server never serves a path only because an XCom names it: a DAG author could name any file.
    """
    if not roots or not os.path.isabs(stored.path):
        return None
    path = Path(os.path.realpath(stored.path))
    if not any(path.is_relative_to(root) for root in roots) or not path.is_file():
        return None
    if stored.size is not None and path.stat().st_size != stored.size:
        return None
    return path


def find_stored_file(
    session: Session, *, dag_id: str, run_id: str, task_id: str, map_index: int, index: int
) -> StoredFile | None:
    """Entry ``index`` of the return value of a ``KlingDownloadOperator`` task instance, if there is one."""
    value = session.scalar(
        select(XComModel.value)
        .join(TI, _same_ti(XComModel))
        .where(
            XComModel.key == "return_value",
            XComModel.dag_id == dag_id,
            XComModel.run_id == run_id,
            XComModel.task_id == task_id,
            XComModel.map_index == map_index,
            TI.operator == DOWNLOAD_OPERATOR,
        )
    )
    return next((f for f in stored_files(task_id, map_index, value).values() if f.index == index), None)

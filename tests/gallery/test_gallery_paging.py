"""Thousands of generations: pages are complete, disjoint and newest first, and a page costs the same few
queries whatever its size (filters and paging run in SQL, the page's downloads in one query)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from tests.gallery.conftest import Gallery

BULK_DAG = "kling_gallery_bulk"
COPIES = 2500


@pytest.fixture(scope="module")
def bulk(gallery: Gallery) -> int:
    """The bulk DAG's one real generation, plus ``COPIES`` task instances with their ``kling_task`` XComs,
    written straight into the metadata DB (as many DAG runs' worth of mapped generations would leave)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import insert, select

    run = gallery.run("bulk_dag")
    assert run.state == "success"
    with create_session() as session:
        tis = TaskInstance.__table__
        ti = session.execute(select(tis).where(tis.c.dag_id == BULK_DAG)).mappings().one()
        xcoms = XComModel.__table__
        xcom = (
            session.execute(select(xcoms).where(xcoms.c.dag_id == BULK_DAG, xcoms.c.key == "kling_task"))
            .mappings()
            .one()
        )
        rows = range(COPIES)
        session.execute(
            insert(tis),
            [{**ti, "id": uuid.uuid4(), "task_id": "copy", "map_index": index} for index in rows],
        )
        session.execute(
            insert(xcoms),
            [
                {
                    **xcom,
                    "task_id": "copy",
                    "map_index": index,
                    "value": {**xcom["value"], "task_id": f"copy-{index}"},
                    "timestamp": xcom["timestamp"] - timedelta(seconds=index + 1),
                }
                for index in rows
            ],
        )
    return COPIES + 1


@contextmanager
def counted_queries() -> Iterator[list[str]]:
    from airflow import settings
    from sqlalchemy import event

    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(settings.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(settings.engine, "before_cursor_execute", record)


def test_every_generation_is_on_exactly_one_page_newest_first(gallery: Gallery, bulk: int) -> None:
    seen: list[tuple[str, int]] = []
    finished: list[str] = []
    page, pages = 1, None
    while pages is None or page <= pages:
        response = gallery.get("/api/generations", dag_id=BULK_DAG, page=page, page_size=100)
        body = response.json()
        assert body["total"] == bulk, body["total"]
        pages = body["pages"]
        seen += [(card["task_id"], card["map_index"]) for card in body["generations"]]
        finished += [card["finished_at"] for card in body["generations"]]
        page += 1
    assert pages == 26 and len(seen) == bulk == len(set(seen))
    assert seen[0] == ("bulk", -1) and seen[-1] == ("copy", COPIES - 1)
    assert finished == sorted(finished, reverse=True)
    beyond = gallery.get("/api/generations", dag_id=BULK_DAG, page=pages + 1, page_size=100).json()
    assert beyond["generations"] == [] and beyond["total"] == bulk


def test_a_page_costs_the_same_few_queries_whatever_its_size(gallery: Gallery, bulk: int) -> None:
    counts = {}
    for size in (5, 100):
        with counted_queries() as statements:
            response = gallery.get("/", dag_id=BULK_DAG, page_size=size, page=3)
        assert response.status_code == 200 and response.text.count("<article") == size
        counts[size] = len(statements)
    assert counts[5] == counts[100] <= 10, counts


def test_the_pager_keeps_the_filters(gallery: Gallery, bulk: int) -> None:
    html = gallery.get("/", dag_id=BULK_DAG, task_type="generations", page=2).text
    assert f"{bulk} generations" in html and "page 2 of 105" in html
    assert f'href="?dag_id={BULK_DAG}&amp;task_type=generations&amp;page=1"' in html
    assert f'href="?dag_id={BULK_DAG}&amp;task_type=generations&amp;page=3"' in html
    last = gallery.get("/", dag_id=BULK_DAG, page=105).text
    assert 'rel="next"' not in last and 'rel="prev"' in last and last.count("<article") == bulk - 104 * 24

"""Scenario 7: event-driven completion under a real Airflow 3 (api-server with the callback plugin, scheduler,
dag-processor; the triggerer runs but must get nothing to do).

Twenty mapped prompts are submitted with a completion asset; each task ends at once. The emulator calls back
the api-server (signed the Standard Webhooks way) on every status change; the plugin confirms each finished
generation with one query and records one Asset event; the publish DAG, scheduled on the asset, downloads
every video. No status poll (no query while a generation runs) and no trigger. Then the same with 20 % of the
callbacks dropped and 20 % sent twice (seed 5: four finished-callbacks lost, three doubled): the sweep records
the missing events, and no task ever gets a second event.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime
from typing import Any

import pytest

from tests.e2e.conftest import E2E
from tests.e2e.deployment import wait_for
from tests.e2e.events import ASSET, PROMPTS, PUBLISH_DAG, SUBMIT_DAG, SWEEP_DAG, WEBHOOK_SECRET
from tests.e2e.helpers import media_urls, record, run_id

FAULT_SEED = 5


def submitted(e2e: E2E, run: str) -> list[str]:
    """The Kling task ids of a submit run, by map index."""
    return [
        str(e2e.api.xcom(SUBMIT_DAG, run, "generate", "kling_task_id", map_index=index))
        for index in range(PROMPTS)
    ]


def events_of(e2e: E2E, run: str | None = None) -> list[dict[str, Any]]:
    """The completion events on the asset (of one submit run, if given), read from the metadata DB."""
    rows = e2e.airflow.query(
        "SELECT e.extra, e.source_run_id FROM asset_event e JOIN asset a ON a.id = e.asset_id "
        "WHERE a.name = ?",
        ASSET,
    )
    return [json.loads(extra) for extra, source_run in rows if run is None or source_run == run]


def polls_while_running(e2e: E2E, ids: list[str]) -> int:
    """Queries of these tasks that reached the emulator before the task had ended (each one a poll)."""
    stats = e2e.kling.stats()
    done_at = {task_id: e2e.kling.task(task_id)["updated_at"] / 1000 for task_id in ids}
    return sum(
        1
        for entry in stats["request_log"]
        if entry["method"] == "GET"
        for task_id in ids
        if entry["path"].endswith(f"/{task_id}") and entry["t"] < done_at[task_id]
    )


def triggers_for(e2e: E2E, ids: list[str]) -> int:
    """Deferrals of the submit tasks, and trigger runs that name one of their Kling tasks."""
    deferred = e2e.airflow.query(
        "SELECT COUNT(*) FROM task_instance WHERE dag_id = ? AND next_method IS NOT NULL", SUBMIT_DAG
    )[0][0]
    triggerer_log = e2e.airflow.components["triggerer"].log_path.read_text(errors="replace")
    return int(deferred) + sum(triggerer_log.count(task_id) for task_id in ids)


def downloads(e2e: E2E) -> Counter[str]:
    """Every URL the publish runs downloaded (a URL counted once per download)."""
    runs = e2e.api.get(f"/dags/{PUBLISH_DAG}/dagRuns", limit=100)["dag_runs"]
    urls: Counter[str] = Counter()
    for run in runs:
        if run["state"] != "success":
            continue
        states = e2e.api.states(PUBLISH_DAG, run["dag_run_id"])
        if states.get(("download", -1)) == "success":
            for item in e2e.api.xcom(PUBLISH_DAG, run["dag_run_id"], "download"):
                urls[item["url"]] += 1
    return urls


def queued_again(e2e: E2E) -> int:
    """How often the plugin queued the publish DAG again for an event Airflow 3.3 stranded (recorded while
    the scheduler was turning the asset's queue into a run, apache/airflow#62501)."""
    log = e2e.airflow.components["api-server"].log_path.read_text(errors="replace")
    return log.count("consumed: queued again")


def wait_for_downloads(e2e: E2E, expected: set[str], timeout: float = 120) -> Counter[str]:
    def complete() -> Counter[str] | None:
        got = downloads(e2e)
        return got if expected <= set(got) else None

    return wait_for(
        f"the publish DAG to download {len(expected)} videos",
        complete,
        timeout,
        interval=2.0,
        diagnose=lambda: f"downloaded {len(downloads(e2e))}\n{e2e.airflow.diagnose()}",
    )


@pytest.fixture(scope="module")
def clean_run(e2e: E2E) -> dict[str, Any]:
    """Phase 1: no faults; generations last 15-20 s, so a waiting task could not end before them."""
    e2e.kling.reset(
        task_duration=15, task_duration_spread=5, submitted_seconds=0.5, webhook_secret=WEBHOOK_SECRET
    )
    run = run_id("events")
    started = time.monotonic()
    e2e.api.trigger(SUBMIT_DAG, run)
    state = e2e.api.wait_for_run(SUBMIT_DAG, run, timeout=120)
    submit_seconds = time.monotonic() - started
    ids = submitted(e2e, run)

    def all_events() -> list[dict[str, Any]] | None:
        found = events_of(e2e, run)
        return found if len(found) >= PROMPTS else None

    events = wait_for(
        "20 completion events",
        all_events,
        90,
        interval=1.0,
        diagnose=lambda: f"{len(events_of(e2e, run))} events\n{e2e.airflow.diagnose()}",
    )
    return {"run": run, "state": state, "submit_seconds": submit_seconds, "ids": ids, "events": events}


@pytest.mark.timeout(300)
def test_twenty_callbacks_become_twenty_events_and_downloads(e2e: E2E, clean_run: dict[str, Any]) -> None:
    run, ids = clean_run["run"], clean_run["ids"]
    assert clean_run["state"] == "success"
    # Each submit task ended while its generation was still running: it did not wait.
    ends = {
        ti["map_index"]: ti["end_date"]
        for ti in e2e.api.task_instances(SUBMIT_DAG, run)
        if ti["task_id"] == "generate"
    }
    for index, task_id in enumerate(ids):
        finished_ms = e2e.kling.task(task_id)["updated_at"]
        assert datetime.fromisoformat(ends[index]).timestamp() * 1000 < finished_ms

    events = clean_run["events"]
    assert len(events) == PROMPTS
    assert sorted(e["task_id"] for e in events) == sorted(ids)
    assert {(e["map_index"], e["task_id"]) for e in events} == set(enumerate(ids))
    assert all(e["status"] == "succeed" and e["dag_id"] == SUBMIT_DAG and e["run_id"] == run for e in events)

    expected = {url for task_id in ids for url in media_urls(e2e.kling.url, task_id)}
    got = wait_for_downloads(e2e, expected)
    assert all(got[url] == 1 for url in expected)

    stats = e2e.kling.stats()
    polls = polls_while_running(e2e, ids)
    confirmations = [stats["queries_by_task"].get(task_id, 0) for task_id in ids]
    triggers = triggers_for(e2e, ids)
    assert polls == 0
    assert confirmations == [1] * PROMPTS  # one query each, after the generation ended
    assert triggers == 0
    assert stats["callbacks_sent"] == 3 * PROMPTS and stats["callbacks_failed"] == 0
    record(
        "event_driven",
        submit_run_seconds=round(clean_run["submit_seconds"], 1),
        events=len(events),
        videos_downloaded=len(expected),
        status_polls=polls,
        confirming_queries=sum(confirmations),
        triggers=triggers,
        callbacks_sent=stats["callbacks_sent"],
        consumers_queued_again=queued_again(e2e),
    )


@pytest.mark.timeout(300)
def test_lost_and_doubled_callbacks_are_swept_never_twice(e2e: E2E, clean_run: dict[str, Any]) -> None:
    kling, api = e2e.kling, e2e.api
    kling.reset(
        task_duration=3,
        submitted_seconds=0.5,
        webhook_secret=WEBHOOK_SECRET,
        callback_drop_rate=0.2,
        callback_duplicate_rate=0.2,
        seed=FAULT_SEED,
    )
    run = run_id("events-faults")
    api.trigger(SUBMIT_DAG, run)
    assert api.wait_for_run(SUBMIT_DAG, run, timeout=120) == "success"
    ids = submitted(e2e, run)
    wait_for(
        "the generations to end and their callbacks to go out",
        lambda: (
            all(kling.task(i)["task_status"] == "succeed" for i in ids)
            and kling.stats()["callbacks_sent"] + kling.stats()["callbacks_dropped"] >= 3 * PROMPTS
        ),
        60,
    )
    time.sleep(3)  # the plugin confirms after answering
    before = len(events_of(e2e, run))
    stats = kling.stats()
    assert 0 < before < PROMPTS, before
    assert stats["callbacks_duplicated"] > 0 and stats["callbacks_dropped"] > 0

    sweep = run_id("sweep")
    api.trigger(SWEEP_DAG, sweep)
    assert api.wait_for_run(SWEEP_DAG, sweep, timeout=120) == "success"
    counts = api.xcom(SWEEP_DAG, sweep, "sweep")
    assert counts["recorded"] == PROMPTS - before
    assert counts["already_recorded"] == PROMPTS + before  # the clean run's twenty, and this run's
    events = events_of(e2e, run)
    assert sorted(e["task_id"] for e in events) == sorted(ids)

    # No task has two events, across both runs; every video is downloaded exactly once.
    per_task = Counter(e["task_id"] for e in events_of(e2e))
    assert len(per_task) == 2 * PROMPTS and set(per_task.values()) == {1}
    expected = {url for task_id in ids + clean_run["ids"] for url in media_urls(kling.url, task_id)}
    got = wait_for_downloads(e2e, expected)
    assert all(got[url] == 1 for url in expected)
    record(
        "event_driven_faults",
        callbacks_dropped=stats["callbacks_dropped"],
        callbacks_duplicated=stats["callbacks_duplicated"],
        events_from_callbacks=before,
        events_from_sweep=counts["recorded"],
        sweep_queries=counts["queries"],
        consumers_queued_again=queued_again(e2e),
        events_per_task=sorted(set(per_task.values())),
        videos_downloaded=len(expected),
    )

"""The whole event-driven path in one process: operators under ``dag.test()`` submit to the emulator, whose
callbacks reach the plugin served by uvicorn on loopback (mounted under its prefix, as the API server mounts
it); and when callbacks are lost, ``KlingCompletionSweepOperator`` has the plugin record what they missed,
never twice."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from airflow_provider_kling.callbacks import sign_webhook
from tests.callbacks.conftest import (
    ASSET,
    CALLBACK_SECRET,
    needs_plugin,
    recorded_events,
    wait_until,
)
from tests.operators.helpers import dag_body

pytestmark = needs_plugin

IMPORTS = (
    "from airflow.providers.common.compat.sdk import task\n"
    "from airflow_provider_kling.operators.kling import KlingTextToVideoOperator\n"
    "from airflow_provider_kling.operators.sweep import KlingCompletionSweepOperator\n"
)


def submit_dag(conn_id: str, prompts: int = 3) -> str:
    return dag_body(
        f'KlingTextToVideoOperator.partial(task_id="gen", kling_conn_id="{conn_id}",',
        f'    completion_asset="{ASSET}").expand(prompt=[f"prompt {{i}}" for i in range({prompts})])',
        imports=IMPORTS,
    )


def sweep_dag(conn_id: str) -> str:
    return dag_body(
        f'KlingCompletionSweepOperator(task_id="sweep", kling_conn_id="{conn_id}", grace_period=0)',
        imports=IMPORTS,
    )


def kling_ids(result, count: int) -> list[str]:
    return [str(result.xcom("gen", key="kling_task_id", map_index=i)) for i in range(count)]


def test_callbacks_become_events(emulator, kling_conn, plugin_server, asset, run_dag):
    conn_id = f"kling_events_{uuid.uuid4().hex[:8]}"
    kling_conn(conn_id, callback_base_url=plugin_server.url, callback_secret=CALLBACK_SECRET)
    result = run_dag(submit_dag(conn_id))
    assert result.state == "success"
    ids = kling_ids(result, 3)
    events = wait_until(lambda: len(recorded_events()) == 3 and recorded_events(), what="3 events")
    by_index = {event["map_index"]: event for event in events}
    run_id = result.dag_run.run_id
    for index, kling_id in enumerate(ids):
        event = by_index[index]
        assert (event["task_id"], event["status"], event["dag_id"], event["run_id"]) == (
            kling_id,
            "succeed",
            result.dag_run.dag_id,
            run_id,
        )
        assert event["source"] == (result.dag_run.dag_id, run_id, "gen", index)
        assert event["urls"] == [f"{emulator.url}/media/{kling_id}/0.mp4"]
    stats = emulator.stats()
    assert stats["callbacks_sent"] == 9  # submitted, processing, succeed for each
    assert [stats["queries_by_task"][kling_id] for kling_id in ids] == [1, 1, 1]  # one confirmation each


def test_the_sweep_records_what_lost_callbacks_missed(emulator, kling_conn, plugin_server, asset, run_dag):
    # Long enough that the first sweep finds the three still running on a busy machine.
    emulator.configure(callback_drop_rate=1.0, task_duration=8)
    conn_id = f"kling_sweep_{uuid.uuid4().hex[:8]}"
    kling_conn(conn_id, callback_base_url=plugin_server.url, callback_secret=CALLBACK_SECRET)
    submitted = run_dag(submit_dag(conn_id))
    ids = kling_ids(submitted, 3)

    early = run_dag(sweep_dag(conn_id))
    assert early.xcom("sweep") == {"submissions": 3, "queries": 3, "running": 3}
    assert recorded_events() == []

    wait_until(lambda: all(emulator.task(i)["task_status"] == "succeed" for i in ids), what="the tasks")
    swept = run_dag(sweep_dag(conn_id))
    assert swept.xcom("sweep") == {"submissions": 3, "queries": 3, "recorded": 3}
    assert sorted(e["task_id"] for e in recorded_events()) == sorted(ids)

    again = run_dag(sweep_dag(conn_id))
    assert again.xcom("sweep") == {"submissions": 3, "already_recorded": 3}
    assert len(recorded_events()) == 3
    assert [emulator.stats()["queries_by_task"][i] for i in ids] == [2, 2, 2]  # running, then ended
    assert emulator.stats()["callbacks_dropped"] == 9


def test_a_submission_naming_another_task_instance_is_ignored(
    emulator, kling_conn, plugin_server, asset, run_dag
):
    conn_id = f"kling_forged_{uuid.uuid4().hex[:8]}"
    kling_conn(conn_id, callback_base_url=plugin_server.url, callback_secret=CALLBACK_SECRET)
    forged = {
        "conn_id": conn_id,
        "asset_name": ASSET,
        "asset_uri": ASSET,
        "task_type": "text2video",
        "external_task_id": "ext-forged",
        "dag_id": "someone_elses_dag",
        "run_id": "their_run",
        "task_id": "their_task",
        "map_index": -1,
        "kling_task_id": "123456789012345678",
    }
    result = run_dag(
        dag_body(
            "@task",
            "def forge(ti=None):",
            f'    ti.xcom_push(key="kling_completion", value={forged!r})',
            "forge() >> KlingCompletionSweepOperator(",  # the sweep runs after the forged XCom exists
            f'    task_id="sweep", kling_conn_id="{conn_id}", grace_period=0)',
            imports=IMPORTS,
        )
    )
    assert result.xcom("sweep").get("submissions", 0) == 0
    assert result.xcom("sweep")["malformed"] >= 1
    assert emulator.stats()["queries_by_task"] == {}


def test_the_sweep_endpoint_wants_a_signed_request(client, events_conn, asset):
    body = json.dumps(
        {"conn_id": "kling_default", "grace_period": 0, "lookback": 60, "max_queries": 5}
    ).encode()
    path = "/v1/sweep/kling_default"
    plain = {"content-type": "application/json"}
    assert client.post(path, content=body, headers=plain).status_code == 401
    wrong = {**plain, **sign_webhook("another-secret-of-enough-length", "msg_x", body)}
    assert client.post(path, content=body, headers=wrong).status_code == 401
    for bad in (
        {"conn_id": "other", "grace_period": 0, "lookback": 60, "max_queries": 5},
        {"conn_id": "kling_default", "grace_period": 61, "lookback": 60, "max_queries": 5},
        {"conn_id": "kling_default", "grace_period": 0, "lookback": 60, "max_queries": 5000},
        {"conn_id": "kling_default", "grace_period": "0", "lookback": 60, "max_queries": 5},
    ):
        raw = json.dumps(bad).encode()
        signed = {**plain, **sign_webhook(CALLBACK_SECRET, "msg_y", raw)}
        assert client.post(path, content=raw, headers=signed).status_code == 400, bad
    signed = {**plain, **sign_webhook(CALLBACK_SECRET, "msg_z", body)}
    answer = client.post(path, content=body, headers=signed)
    assert answer.status_code == 200 and answer.json()["result"] == "swept"
    assert client.post("/v1/sweep/no_such_connection", content=body, headers=signed).status_code == 403


def test_an_event_airflow_stranded_gets_its_consumer_queued_again(asset, run_dag, monkeypatch):
    """Airflow 3.3's race (apache/airflow#62501) left as it leaves it: an event newer than the consumer's
    last run, and no queue row. The check armed by the recording queues the consumer again, once."""
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import delete, select, update

    from airflow_provider_kling.callbacks import CallbackTarget
    from airflow_provider_kling.plugins import completions

    monkeypatch.setattr(completions, "STRANDED_AFTER", 1.0)
    consumer = run_dag(
        "from airflow.providers.common.compat.sdk import Asset, task\n"
        f"with DAG(DAG_ID, schedule=[Asset({ASSET!r})], start_date=datetime.datetime(2026, 1, 1)) as dag:\n"
        "    @task\n"
        "    def noop():\n"
        "        pass\n"
        "    noop()\n"
    )
    dag_id = consumer.dag_run.dag_id
    target = CallbackTarget("kling_default", ASSET, ASSET, "text2video", "ext-1", "d", "r", "t", -1)

    def queued() -> bool:
        with create_session() as session:
            asset_id = session.scalar(select(AssetModel.id).where(AssetModel.name == ASSET))
            return session.get(AssetDagRunQueue, (asset_id, dag_id)) is not None

    def strand() -> None:  # what the race leaves: the queue row gone, the event unconsumed
        with create_session() as session:
            session.execute(delete(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == dag_id))

    with create_session() as session:
        session.execute(update(DagModel).where(DagModel.dag_id == dag_id).values(is_paused=False))
    try:
        assert completions.record(target, {"task_id": "1001", "task_status": "succeed"}) == "recorded"
        assert queued()  # Airflow queued the consumer
        strand()
        assert not queued()
        wait_until(queued, timeout=10, what="the check after the recording to queue the consumer again")

        strand()
        assert completions.requeue_stranded(ASSET, ASSET) == 1 and queued()
        assert completions.requeue_stranded(ASSET, ASSET) == 0  # queued: nothing to do
        strand()
        with create_session() as session:  # a fresh event: the scheduler may be creating its run right now
            session.execute(update(AssetEvent).values(timestamp=datetime.now(UTC)))
        assert completions.requeue_stranded(ASSET, ASSET) == 0
    finally:
        strand()
        with create_session() as session:
            session.execute(update(DagModel).where(DagModel.dag_id == dag_id).values(is_paused=True))

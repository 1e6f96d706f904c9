"""Kling's concurrency limit (1303) is waited out, never failed on and never paid twice, until submit_timeout.

``dag.test()`` runs mapped task instances one after another, so the account is made busy on purpose: an
upstream task fills every slot with long image2video tasks (the same "video" pool as text2video), or the
mapped creates do not wait for their generations and so keep their slots while the next index submits.
"""

from __future__ import annotations

import re
import time

import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

from tests.operators.helpers import dag_body, output_of, task_error

PROMPTS = [f"scene {i}: a paper boat on a river" for i in range(12)]
FILL = (
    "@task",
    "def fill():",
    "    from airflow_provider_kling.hooks.kling import KlingHook",
    "    for _ in range(3):",
    "        KlingHook().create_task('image2video', {'image': 'https://example.com/busy.png'})",
)
IMPORTS = (
    "from airflow.providers.common.compat.sdk import task\n"
    "from airflow_provider_kling.operators.kling import KlingTextToVideoOperator\n"
    "from airflow_provider_kling.sensors.kling import KlingTaskSensor\n"
)


@pytest.mark.parametrize(("deferrable", "count"), [(True, 12), (False, 6)])
def test_mapped_generations_wait_out_a_full_account(emulator, kling_conn, run_dag, deferrable, count):
    emulator.configure(
        concurrency_limit=3,
        submitted_seconds=0.02,
        task_durations={"image2video": 1.5, "text2video": 0.1},
    )
    result = run_dag(
        dag_body(
            *FILL,
            'gen = KlingTextToVideoOperator.partial(task_id="gen", poll_interval=0.2,',
            f"    submit_retry_delay=0.2, deferrable={deferrable}).expand(prompt={PROMPTS[:count]!r})",
            "fill() >> gen",
            imports=IMPORTS,
        )
    )
    assert result.state == "success"
    stats = emulator.stats()
    refused = stats["answers_by_code"].get("1303", 0)
    assert refused >= 1  # the first index really met a full account ...
    assert stats["creates"] == 3 + count  # ... and waited instead of failing or paying twice
    by_id = stats["creates_by_external_id"]
    assert len(by_id) == count and sum(by_id.values()) == count + refused
    assert stats["create_attempts"] == 3 + count + refused

    kling_ids, external_ids = set(), set()
    for index in range(count):
        assert result.task_state("gen", index) == "success"
        task = result.xcom("gen", key="kling_task", map_index=index)
        urls = result.xcom("gen", map_index=index)
        assert urls == [f"{emulator.url}/media/{task['task_id']}/0.mp4"]
        kling_ids.add(task["task_id"])
        external_ids.add(task["task_info"]["external_task_id"])
    assert len(kling_ids) == count and external_ids == set(by_id)
    # One index (the first dag.test ran) met the full account; every resubmission reused its id.
    (waited,) = [index for index in range(count) if by_id[index_external_id(result, index)] > 1]
    assert by_id[index_external_id(result, waited)] == 1 + refused


def index_external_id(result, index):
    return result.xcom("gen", key="kling_task", map_index=index)["task_info"]["external_task_id"]


@pytest.mark.skipif(
    not AIRFLOW_V_3_0_PLUS,
    reason="Airflow 2's dag.test() resumes a deferred mapped task with its unmapped copy, which then refuses"
    " to feed a mapped downstream (UnmappableXComTypePushed); real 2.x runs resume from the DAG file",
)
def test_fan_out_without_waiting_queues_many_indexes_on_1303(emulator, kling_conn, run_dag):
    # Generations last 4 s, far longer than submitting three (also on a busy machine): index 3 (in the order
    # dag.test runs them) and later ones find three generations still running, and wait their turn.
    emulator.configure(concurrency_limit=3, submitted_seconds=0.05, task_duration=4)
    result = run_dag(
        dag_body(
            'gen = KlingTextToVideoOperator.partial(task_id="gen", wait_for_completion=False,',
            f"    submit_retry_delay=0.2).expand(prompt={PROMPTS!r})",
            'KlingTaskSensor.partial(task_id="wait", task_type="text2video", poke_interval=0.2)'
            ".expand(kling_task_id=gen.output)",
            imports=IMPORTS,
        )
    )
    assert result.state == "success"
    stats = emulator.stats()
    assert stats["creates"] == 12 and len(stats["creates_by_external_id"]) == 12
    assert stats["answers_by_code"]["1303"] >= 3
    waited = [k for k, n in stats["creates_by_external_id"].items() if n > 1]
    assert len(waited) >= 3  # several map indexes queued, each on its own id
    for index in range(12):
        kling_id = str(result.xcom("gen", map_index=index))
        assert result.xcom("wait", map_index=index) == [f"{emulator.url}/media/{kling_id}/0.mp4"]


@pytest.mark.parametrize("deferrable", [True, False])
def test_no_free_slot_fails_after_submit_timeout(emulator, kling_conn, run_dag, capfd, deferrable):
    emulator.configure(concurrency_limit=0)  # the account never has a free slot
    result = run_dag(
        dag_body(
            'KlingTextToVideoOperator(task_id="gen", prompt="a fox", submit_timeout=1.5,',
            f"    submit_retry_delay=0.2, deferrable={deferrable}, poll_interval=0.2)",
        )
    )
    errors = task_error(output_of(capfd))
    assert result.task_state("gen") == "failed"
    assert re.search(
        r"KlingError: Kling kept refusing new text2video tasks for 1.5s: the account's concurrency "
        r"\(or rate\) limit stayed full\. Last answer: Kling API error 1303 \(HTTP 429\)",
        errors,
    )
    stats = emulator.stats()
    assert stats["creates"] == 0
    # Refusals are resubmitted by the operator (>= 1 s apart) within submit_timeout; the hook does not also
    # sleep through its own retries of each one (that took ~25 s and 6 refusals per resubmission).
    assert 1 <= stats["answers_by_code"]["1303"] <= 3
    posts = [r["t"] for r in stats["request_log"] if r["method"] == "POST"]
    assert len(posts) == stats["answers_by_code"]["1303"] and posts[-1] - posts[0] < 1.5


async def test_resubmit_trigger_waits_until_its_moment_and_returns_the_state():
    from airflow_provider_kling.triggers.resubmit import KlingResubmitTrigger

    moment = time.time() + 0.3
    trigger = KlingResubmitTrigger(moment, {"submit_deadline": 123.5, "attempt": 4})
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_kling.triggers.resubmit.KlingResubmitTrigger"
    assert KlingResubmitTrigger(**kwargs).serialize() == (classpath, kwargs)
    events = [event async for event in trigger.run()]
    assert time.time() >= moment
    assert [e.payload for e in events] == [{"status": "resubmit", "submit_deadline": 123.5, "attempt": 4}]


@pytest.mark.parametrize("event", [None, {"status": "success"}, "resubmit"])
def test_resume_submit_rejects_foreign_events(event):
    from airflow_provider_kling.exceptions import KlingError
    from airflow_provider_kling.operators.kling import KlingTextToVideoOperator

    op = KlingTextToVideoOperator(task_id="gen", prompt="a fox")
    with pytest.raises(KlingError, match="Unexpected event while waiting to resubmit"):
        op.resume_submit({}, event)

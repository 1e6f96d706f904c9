"""Never pay twice: an unknown create outcome, an Airflow retry and a user's own external_task_id all end with
exactly the Kling tasks that should exist, read from the emulator's counters."""

from __future__ import annotations

import re
import time
from types import SimpleNamespace

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.operators.kling import KlingTextToVideoOperator
from tests.operators.helpers import dag_body, output_of, task_error

FAST = "poll_interval=0.2"
RETRY = "retries=1, retry_delay=datetime.timedelta(seconds=0)"


def counters(emulator):
    stats = emulator.stats()
    return {
        key: stats[key]
        for key in ("creates", "create_attempts", "creates_by_external_id", "queries_by_external_id")
    }


def derived_ids(result, task_id="gen", try_number=1):
    """The external ids the operator derives for this run's task, newest attempt first."""
    ti = result.ti(task_id)
    op = KlingTextToVideoOperator(task_id=task_id, prompt="x")
    fake = SimpleNamespace(
        dag_id=ti.dag_id, task_id=task_id, run_id=ti.run_id, map_index=-1, try_number=try_number
    )
    return op._external_ids({"ti": fake})


def wait_for_status(emulator, task_id, status, timeout=5.0):
    deadline = time.time() + timeout
    while emulator.task(task_id)["task_status"] != status:
        assert time.time() < deadline, emulator.task(task_id)
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("fault", "conn_extra"),
    [
        ({"code": 5002, "scope": "create", "after_create": True}, {}),
        ({"drop": True, "scope": "create", "after_create": True}, {}),
        ({"delay": 2, "scope": "create"}, {"timeout": 0.5}),
    ],
    ids=["5002-after-create", "dropped-after-create", "client-timeout-after-create"],
)
def test_create_with_unknown_outcome_is_looked_up_not_repeated(
    emulator, kling_conn, run_dag, fault, conn_extra
):
    kling_conn(**conn_extra)
    emulator.configure(fail_requests=[fault])
    result = run_dag(dag_body(f'KlingTextToVideoOperator(task_id="gen", prompt="a fox", {FAST})'))
    assert result.state == "success"
    (external_id,) = derived_ids(result)
    seen = counters(emulator)
    assert seen == {
        "creates": 1,  # the task the "failed" create made is the one used
        "create_attempts": 1,
        "creates_by_external_id": {external_id: 1},
        "queries_by_external_id": {external_id: 1},  # found by looking its external id up
    }
    task = result.xcom("gen", key="kling_task")
    assert task["task_info"]["external_task_id"] == external_id
    assert str(result.xcom("gen", key="kling_task_id")) == task["task_id"]


def test_create_that_failed_before_creating_is_sent_again_once(emulator, kling_conn, run_dag):
    emulator.configure(fail_requests=[{"code": 5002, "scope": "create"}])
    result = run_dag(dag_body(f'KlingTextToVideoOperator(task_id="gen", prompt="a fox", {FAST})'))
    assert result.state == "success"
    (external_id,) = derived_ids(result)
    assert counters(emulator) == {
        "creates": 1,
        "create_attempts": 2,  # the lookup found nothing, so the same body (same id) went again
        "creates_by_external_id": {external_id: 2},
        "queries_by_external_id": {},
    }


@pytest.mark.parametrize("deferrable", [True, False])
def test_airflow_retry_reattaches_to_the_running_task_of_try_1(
    emulator, kling_conn, run_dag, capfd, deferrable
):
    # Try 1 creates the task, then its first status query is refused (non-retryable), so try 1 fails while
    # the generation keeps running on Kling's side; try 2 must pick that task up, not pay for another.
    emulator.configure(task_duration=1.5, fail_requests=[{"code": 1200, "scope": "query"}])
    result = run_dag(
        dag_body(
            f'KlingTextToVideoOperator(task_id="gen", prompt="a fox", deferrable={deferrable},',
            f"    {RETRY}, {FAST})",
        )
    )
    output = output_of(capfd)
    assert result.state == "success" and result.ti("gen").try_number == 2
    assert re.search(r"Kling\w*Error: Kling API error 1200 \(HTTP 400\)", task_error(output))  # try 1's end
    try2_id, try1_id = derived_ids(result, try_number=2)
    assert try2_id.endswith("-2") and try1_id.endswith("-1")
    assert counters(emulator) == {
        "creates": 1,
        "create_attempts": 1,
        "creates_by_external_id": {try1_id: 1},
        "queries_by_external_id": {try1_id: 1},  # try 2 looked try 1's id up and re-attached
    }
    task = result.xcom("gen", key="kling_task")
    assert task["task_info"]["external_task_id"] == try1_id
    assert str(result.xcom("gen", key="kling_task_id")) == task["task_id"]


def test_airflow_retry_after_a_failed_generation_creates_a_new_task(emulator, kling_conn, run_dag):
    # Try 1's generation fails on Kling while try 1 itself dies of a refused query (answered only after the
    # generation has failed): try 2 must not re-attach to the failed task but create one new task.
    emulator.configure(
        fail_next={"count": 1, "message": "Image pixel is invalid"},
        fail_requests=[{"code": 1200, "scope": "query", "delay": 0.8}],
    )
    result = run_dag(dag_body(f'KlingTextToVideoOperator(task_id="gen", prompt="a fox", {RETRY}, {FAST})'))
    assert result.state == "success" and result.ti("gen").try_number == 2
    try2_id, try1_id = derived_ids(result, try_number=2)
    assert counters(emulator) == {
        "creates": 2,
        "create_attempts": 2,
        "creates_by_external_id": {try1_id: 1, try2_id: 1},  # one create per attempt's id
        "queries_by_external_id": {try1_id: 1},
    }
    assert emulator.stats()["tasks_by_status"] == {"failed": 1, "succeed": 1}
    assert result.xcom("gen", key="kling_task")["task_info"]["external_task_id"] == try2_id


class RecordingTI:
    """What ``execute`` needs of a task instance; XComs are kept in a dict."""

    def __init__(self, try_number):
        self.dag_id, self.task_id, self.run_id = "kling_idempotency", "gen", "manual__2026-01-01T00:00:00"
        self.map_index, self.try_number = -1, try_number
        self.xcoms = {}

    def xcom_push(self, key, value):
        self.xcoms[key] = value


@pytest.mark.parametrize("earlier", ["failed", "running", "succeed", None])
def test_try_2_looks_up_try_1_before_creating(emulator, kling_conn, earlier):
    emulator.configure(task_duration=0.5)
    op = KlingTextToVideoOperator(
        task_id="gen", prompt="a fox", deferrable=False, poll_interval=0.1, initial_delay=0
    )
    ti = RecordingTI(try_number=2)
    try2_id, try1_id = op._external_ids({"ti": ti})
    assert re.fullmatch(r"airflow-[0-9a-f]{24}-2", try2_id) and try1_id == try2_id[:-1] + "1"
    existing = None
    if earlier is not None:
        if earlier == "failed":
            emulator.configure(fail_next={"count": 1, "message": "content safety"})
        existing = KlingHook().create_task("text2video", {"prompt": "a fox", "external_task_id": try1_id})
        if earlier != "running":
            wait_for_status(emulator, existing["task_id"], earlier)

    urls = op.execute({"ti": ti})

    kling_id = ti.xcoms["kling_task_id"]
    assert urls == [f"{emulator.url}/media/{kling_id}/0.mp4"]
    assert ti.xcoms["kling_task"]["task_status"] == "succeed"
    stats = emulator.stats()
    if earlier in ("running", "succeed"):  # re-attached: no second task
        assert kling_id == existing["task_id"]
        assert stats["creates"] == 1 and stats["creates_by_external_id"] == {try1_id: 1}
    else:  # nothing usable from try 1: exactly one new task, under try 2's id
        assert stats["creates"] == (2 if earlier else 1)
        assert stats["creates_by_external_id"] == ({try1_id: 1} if earlier else {}) | {try2_id: 1}
        assert kling_id != (existing or {}).get("task_id")


@pytest.mark.parametrize(
    "operator",
    [
        'KlingTextToVideoOperator(task_id="gen", prompt="a fox", external_task_id="campaign-42-fox", ',
        'KlingCreateTaskOperator(task_id="gen", task_type="text2video",'
        ' payload={"prompt": "a fox", "external_task_id": "campaign-42-fox"}, ',
    ],
    ids=["argument", "inside-payload"],
)
def test_user_external_task_id_reattaches_to_the_existing_task(emulator, kling_conn, run_dag, operator):
    emulator.configure(task_duration=1.0)
    existing = KlingHook().create_task(
        "text2video", {"prompt": "a fox", "external_task_id": "campaign-42-fox"}
    )
    result = run_dag(dag_body(operator + f"{FAST})"))
    assert result.state == "success"
    assert str(result.xcom("gen", key="kling_task_id")) == existing["task_id"]
    assert result.xcom("gen") == [f"{emulator.url}/media/{existing['task_id']}/0.mp4"]
    assert counters(emulator) == {
        "creates": 1,  # only the one made before the DAG ran
        "create_attempts": 1,
        "creates_by_external_id": {"campaign-42-fox": 1},
        "queries_by_external_id": {"campaign-42-fox": 1},
    }


def test_user_external_task_id_is_used_as_given_when_new(emulator, kling_conn, run_dag):
    result = run_dag(
        dag_body(
            'KlingTextToVideoOperator(task_id="gen", prompt="a fox",',
            '    external_task_id="campaign-{{ params.n }}",',
            f'    params={{"n": 43}}, {RETRY}, {FAST})',
        )
    )
    assert result.state == "success"
    assert result.xcom("gen", key="kling_task")["task_info"]["external_task_id"] == "campaign-43"
    stats = counters(emulator)
    assert stats["creates"] == 1 and stats["creates_by_external_id"] == {"campaign-43": 1}


def test_user_external_task_id_of_a_failed_task_fails_without_a_second_task(
    emulator, kling_conn, run_dag, capfd
):
    emulator.configure(fail_next={"count": 1, "message": "content safety check failed"})
    existing = KlingHook().create_task("text2video", {"prompt": "a fox", "external_task_id": "campaign-44"})
    wait_for_status(emulator, existing["task_id"], "failed")
    result = run_dag(
        dag_body(
            f'KlingTextToVideoOperator(task_id="gen", prompt="a fox", external_task_id="campaign-44", {FAST})'
        )
    )
    errors = task_error(output_of(capfd))
    assert result.task_state("gen") == "failed"
    assert (
        f"AirflowFailException: Kling task {existing['task_id']} failed: content safety check failed"
        in errors
    )
    stats = emulator.stats()
    assert stats["creates"] == 1  # Kling refused a second task under the same id; none was paid for
    assert stats["answers_by_code"].get("1201") == 1


def test_a_resubmit_resumed_under_a_newer_try_keeps_its_external_id(emulator, kling_conn):
    """Airflow may resume a deferred task under the next try number; the queued create must not change id."""
    from airflow_provider_kling.exceptions import KlingError

    emulator.configure(concurrency_limit=0)
    op = KlingTextToVideoOperator(
        task_id="gen", prompt="a fox", wait_for_completion=False, submit_retry_delay=0.1
    )
    with pytest.raises(TaskDeferred) as deferred:
        op.execute({"ti": RecordingTI(try_number=1)})
    state = deferred.value.trigger.state
    try1_id = op._external_ids({"ti": RecordingTI(try_number=1)})[0]
    assert state["external_task_id"] == try1_id and state["attempt"] == 1

    emulator.configure(concurrency_limit=None)
    ti = RecordingTI(try_number=2)
    assert op.resume_submit({"ti": ti}, {"status": "resubmit", **state}) == ti.xcoms["kling_task_id"]
    stats = emulator.stats()
    assert stats["creates"] == 1 and stats["creates_by_external_id"] == {
        try1_id: 2
    }  # a 1303, then the create

    # Had another try created its own task meanwhile, the resubmission re-attaches to it instead.
    other = RecordingTI(try_number=2)
    try2_id = op._external_ids({"ti": other})[0]
    created = KlingHook().create_task("text2video", {"prompt": "a fox", "external_task_id": try2_id})
    assert op.resume_submit({"ti": other}, {"status": "resubmit", **state}) == created["task_id"]
    assert emulator.stats()["creates"] == 2
    with pytest.raises(KlingError, match="Unexpected event"):
        op.resume_submit({"ti": other}, {"status": "success"})

"""KlingTaskSensor in real Airflow (``dag.test()`` on SQLite) against the emulator, in all three modes.

``dag.test()`` runs a deferred task's trigger in line, and it does run ``mode="reschedule"`` sensors: a
task that is up for reschedule is picked up again once its reschedule date has passed (the test loop
sleeps 1 s between checks, so each reschedule costs about a second here).

Kling tasks the sensor must really wait for are created by an upstream task in the same DAG run, because
``dag.test()`` may spend a second or more on set-up before the sensor's first poke: a task created before
the run could already be finished. Whether a failure was final is told by ``retries=2``:
``AirflowFailException`` and ``AirflowSensorTimeout`` end a task without retry (try_number stays 1), any
other error is retried.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
)

from airflow_provider_kling.exceptions import KlingError
from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.protocol import KLING_TASK_XCOM_KEY, KLING_UNITS_XCOM_KEY
from airflow_provider_kling.sensors.kling import KlingTaskSensor
from airflow_provider_kling.spec import TASK_TYPES
from airflow_provider_kling.triggers.kling import KlingTaskTrigger

MODES = {
    "deferrable": {},
    "poke": {"deferrable": False, "mode": "poke"},
    "reschedule": {"deferrable": False, "mode": "reschedule"},
}
XCOM_ID = "{{ ti.xcom_pull(task_ids='submit', key='kling_task_id') }}"
REASON = "Failure to pass the risk control system: the prompt violates the content policy"


def dag_body(
    sensor: dict[str, Any], submit: tuple[str, dict[str, Any]] | None = None, **dag_kwargs: Any
) -> str:
    """A DAG with a ``wait`` sensor, after an optional ``submit`` task that creates the Kling task.

    ``submit`` pushes the new id as XCom ``kling_task_id``; pass ``kling_task_id=XCOM_ID`` to wait on it.
    """
    kwargs = {
        "task_type": "text2video",
        "poke_interval": 0.2,
        "initial_delay": 0,
        "timeout": 30,
        "retries": 2,
        "retry_delay": 0,
        **sensor,
    }
    lines = [
        "from airflow.providers.common.compat.sdk import task",
        "from airflow_provider_kling.sensors.kling import KlingTaskSensor",
        "with DAG(DAG_ID, schedule=None, start_date=datetime.datetime(2026, 1, 1), **"
        + repr(dag_kwargs)
        + ") as dag:",
        "    wait = KlingTaskSensor(task_id='wait', **" + repr(kwargs) + ")",
    ]
    if submit is not None:
        task_type, payload = submit
        lines += [
            "    @task",
            "    def submit(ti=None):",
            "        from airflow_provider_kling.hooks.kling import KlingHook",
            f"        created = KlingHook().create_task({task_type!r}, {payload!r})",
            "        ti.xcom_push(key='kling_task_id', value=created['task_id'])",
            "    submit() >> wait",
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def deferrals(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The serialized kwargs of every KlingTaskTrigger that ran (observation only; the trigger is real)."""
    seen: list[dict[str, Any]] = []
    original = KlingTaskTrigger.run

    def spy(self):
        seen.append(self.serialize()[1])
        return original(self)

    monkeypatch.setattr(KlingTaskTrigger, "run", spy)
    return seen


def reschedules(ti: Any) -> int:
    """How many times Airflow rescheduled this task instance."""
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    if hasattr(TaskReschedule, "ti_id"):  # Airflow 3
        match = [TaskReschedule.ti_id == ti.id]
    else:  # Airflow 2 keys reschedules by the task instance's fields
        match = [
            getattr(TaskReschedule, field) == getattr(ti, field)
            for field in ("dag_id", "task_id", "run_id", "map_index")
        ]
    with create_session() as session:
        return session.scalar(select(func.count()).where(*match))


def only_task_id(emulator) -> str:
    (task_id,) = emulator.stats()["queries_by_task"]
    return task_id


def check_mode(mode: str, result, deferrals: list[dict[str, Any]], before: float) -> None:
    """The sensor waited the way its mode says: one trigger, poke loop, or reschedules."""
    ti = result.ti("wait")
    if mode == "deferrable":
        (kwargs,) = deferrals
        assert kwargs["poll_interval"] == 0.2
        assert before + 30 <= kwargs["deadline"] <= time.time() + 30
    else:
        assert deferrals == []
    assert (reschedules(ti) >= 1) == (mode == "reschedule")


# -- real DAG runs, every mode --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(MODES))
def test_success_pushes_the_result_urls_and_the_task(emulator, kling_conn, run_dag, deferrals, mode):
    emulator.configure(task_duration=1.0)
    before = time.time()
    result = run_dag(
        dag_body(
            {**MODES[mode], "kling_task_id": XCOM_ID, "task_type": "{{ params.kind }}"},
            submit=("generations", {"prompt": "two teapots", "n": 2}),
            params={"kind": "generations"},
        )
    )
    assert result.state == "success" and result.task_state("wait") == "success"
    task_id = only_task_id(emulator)
    assert result.xcom("wait") == [f"{emulator.url}/media/{task_id}/{i}.png" for i in (0, 1)]
    assert result.xcom("wait", KLING_TASK_XCOM_KEY) == emulator.task(task_id)
    assert emulator.stats()["queries_by_task"][task_id] >= 2, "the sensor should have had to wait"
    check_mode(mode, result, deferrals, before)
    if mode == "deferrable":
        assert deferrals[0]["task_type"] == "generations" and deferrals[0]["task_id"] == task_id


@pytest.mark.parametrize("mode", list(MODES))
def test_failed_generation_fails_the_task_without_retry(emulator, kling_conn, run_dag, deferrals, mode):
    emulator.configure(task_duration=1.0, fail_next={"count": 1, "message": REASON})
    before = time.time()
    result = run_dag(
        dag_body({**MODES[mode], "kling_task_id": XCOM_ID}, submit=("text2video", {"prompt": "x"}))
    )
    assert result.state == "failed" and result.task_state("wait") == "failed"
    assert result.ti("wait").try_number == 1  # AirflowFailException: a retry cannot change the outcome
    assert result.xcom("wait") is None
    task_id = only_task_id(emulator)
    assert emulator.task(task_id)["task_status"] == "failed"
    check_mode(mode, result, deferrals, before)


@pytest.mark.parametrize("mode", list(MODES))
def test_timeout_fails_the_task_without_retry(emulator, kling_conn, run_dag, deferrals, mode):
    emulator.configure(task_duration=600)
    task_id = KlingHook().create_task("text2video", {"prompt": "never ends"})["task_id"]
    started = time.monotonic()
    result = run_dag(dag_body({**MODES[mode], "kling_task_id": task_id, "timeout": 1}))
    assert result.state == "failed" and result.task_state("wait") == "failed"
    assert result.ti("wait").try_number == 1  # AirflowSensorTimeout is final
    assert time.monotonic() - started < 15
    assert emulator.task(task_id)["task_status"] == "processing"
    if mode == "deferrable":
        (kwargs,) = deferrals
        assert kwargs["deadline"] - time.time() < 1


@pytest.mark.parametrize("mode", list(MODES))
def test_soft_fail_skips_a_failed_generation(emulator, kling_conn, run_dag, deferrals, mode):
    emulator.configure(task_duration=1.0, fail_next={"count": 1, "message": REASON})
    result = run_dag(
        dag_body(
            {**MODES[mode], "kling_task_id": XCOM_ID, "soft_fail": True},
            submit=("text2video", {"prompt": "x"}),
        )
    )
    assert result.task_state("submit") == "success"
    assert result.task_state("wait") == "skipped"
    assert len(deferrals) == (1 if mode == "deferrable" else 0)


@pytest.mark.parametrize("mode", list(MODES))
def test_soft_fail_does_not_hide_an_error(emulator, kling_conn, run_dag, deferrals, mode):
    """soft_fail is for a failed generation or the deadline; a refused request must still fail the task."""
    emulator.configure(task_duration=600)
    task_id = KlingHook().create_task("text2video", {"prompt": "x"})["task_id"]
    ok = {"delay": 0, "scope": "query"}  # the first poke sees the task processing, the next is refused
    emulator.configure(
        fail_requests=[ok, {"code": 1103, "scope": "query", "message": "no access to this model"}]
    )
    result = run_dag(dag_body({**MODES[mode], "kling_task_id": task_id, "soft_fail": True, "retries": 0}))
    assert result.task_state("wait") == "failed"
    assert emulator.stats()["answers_by_code"].get("1103") == 1
    assert len(deferrals) == (1 if mode == "deferrable" else 0)


@pytest.mark.parametrize("mode", list(MODES))
def test_an_already_finished_task_takes_one_query(emulator, kling_conn, run_dag, deferrals, mode):
    task_id = KlingHook().create_task("text2video", {"prompt": "done already"})["task_id"]
    emulator.configure(clock_offset=3600)
    result = run_dag(dag_body({**MODES[mode], "kling_task_id": task_id}))
    assert result.task_state("wait") == "success"
    assert result.xcom("wait") == [f"{emulator.url}/media/{task_id}/0.mp4"]
    # Deferring would have polled again from the trigger; rescheduling would have needed a second poke.
    assert emulator.stats()["queries_by_task"] == {task_id: 1}
    assert deferrals == []
    assert reschedules(result.ti("wait")) == 0


def test_kling_task_id_from_an_xcomarg(emulator, kling_conn, run_dag, deferrals):
    emulator.configure(task_duration=1.0)
    result = run_dag(
        """
        from airflow.providers.common.compat.standard.operators import PythonOperator
        from airflow_provider_kling.sensors.kling import KlingTaskSensor

        def create():
            from airflow_provider_kling.hooks.kling import KlingHook
            return KlingHook().create_task("text2video", {"prompt": "from an XComArg"})["task_id"]

        with DAG(DAG_ID, schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:
            submit = PythonOperator(task_id="submit", python_callable=create)
            KlingTaskSensor(
                task_id="wait",
                kling_task_id=submit.output,
                task_type="text2video",
                poke_interval=0.2,
                initial_delay=0,
                timeout=30,
            )
        """
    )
    assert result.task_state("wait") == "success"
    task_id = only_task_id(emulator)
    # (Read from the metadata DB, Airflow decodes the XCom string "8672..." as JSON, i.e. as an int;
    # the sensor itself received the string, as the trigger's kwargs show.)
    assert str(result.xcom("submit")) == task_id
    assert result.xcom("wait") == [f"{emulator.url}/media/{task_id}/0.mp4"]
    assert [d["task_id"] for d in deferrals] == [task_id]


def test_an_invalid_templated_task_type_fails_before_any_request(emulator, kling_conn, run_dag):
    result = run_dag(dag_body({"kling_task_id": "123", "task_type": "{{ 'text-to-video' }}", "retries": 0}))
    assert result.task_state("wait") == "failed"
    assert emulator.stats()["requests_total"] == 0


# -- the resume path and construction, without a DAG run ------------------------------------------------


class RecordingTI:
    """The only part of the task instance ``complete_wait`` touches."""

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def sensor(**kwargs: Any) -> KlingTaskSensor:
    return KlingTaskSensor(
        task_id="wait", kling_task_id="867283741759111202", **{"task_type": "text2video", **kwargs}
    )


def event(status: str, message: str = "", task: dict[str, Any] | None = None, task_type: str = "text2video"):
    return {
        "status": status,
        "task_type": task_type,
        "task_id": "867283741759111202",
        "task": task,
        "message": message,
    }


@pytest.mark.parametrize(
    "bad",
    [None, {}, {"status": "succeed"}, {"status": None}, "success", ["success"], event("bogus")],
    ids=["none", "empty", "kling-status", "null-status", "str", "list", "unknown-status"],
)
@pytest.mark.parametrize("soft_fail", [False, True])
def test_resume_rejects_an_unexpected_event(bad, soft_fail):
    with pytest.raises(KlingError, match="Unexpected event"):
        sensor(soft_fail=soft_fail).execute_complete({"ti": RecordingTI()}, bad)


def test_resume_with_success_returns_urls_and_pushes_the_task():
    task = {
        "task_id": "867283741759111202",
        "task_status": "succeed",
        "task_result": {
            "images": [{"index": 0, "url": "https://cdn/a.png"}, {"index": 1, "url": "https://cdn/b.png"}]
        },
        "final_unit_deduction": "2",  # unknown newer fields pass through untouched
    }
    ti = RecordingTI()
    urls = sensor(task_type="generations").execute_complete(
        {"ti": ti}, event("success", "ok", task, "generations")
    )
    assert urls == ["https://cdn/a.png", "https://cdn/b.png"]
    assert ti.pushed == {KLING_TASK_XCOM_KEY: task, KLING_UNITS_XCOM_KEY: 2.0}


@pytest.mark.parametrize(
    ("status", "soft_fail", "raises"),
    [
        ("failed", False, AirflowFailException),
        ("timeout", False, AirflowSensorTimeout),
        ("error", False, KlingError),
        ("failed", True, AirflowSkipException),
        ("timeout", True, AirflowSkipException),
        ("error", True, KlingError),
    ],
)
def test_resume_raises_what_each_outcome_means(status, soft_fail, raises):
    message = f"Kling task 867283741759111202 {status}: {REASON}"
    ti = RecordingTI()
    with pytest.raises(raises) as info:
        sensor(soft_fail=soft_fail).execute_complete({"ti": ti}, event(status, message))
    assert REASON in str(info.value) and "867283741759111202" in str(info.value)
    if raises is KlingError:
        assert not isinstance(info.value, AirflowSkipException)
    assert ti.pushed == {}


@pytest.mark.parametrize(
    ("status", "flags", "raises"),
    [
        ("error", {"soft_fail": True}, KlingError),
        ("failed", {"soft_fail": True}, AirflowSkipException),
        ("timeout", {"soft_fail": True}, AirflowSkipException),
        ("error", {"never_fail": True}, AirflowSkipException),
        ("failed", {"never_fail": True}, AirflowSkipException),
        ("failed", {}, AirflowFailException),
    ],
)
def test_resume_execution_keeps_the_outcome_of_each_event(status, flags, raises):
    """Airflow's resume path for deferred sensors, as the worker calls it after the trigger fired."""
    s = sensor(**flags)
    with pytest.raises(raises) as info:
        s.resume_execution("execute_complete", {"event": event(status, f"it {status}: {REASON}")}, {})
    if raises is KlingError:
        assert not isinstance(info.value, AirflowSkipException) and REASON in str(info.value)


def test_failed_event_from_the_trigger_becomes_the_failure_message(emulator, kling_conn):
    """The trigger's real event for a failed generation, fed to the sensor's resume method."""
    import asyncio

    emulator.configure(fail_next={"count": 1, "message": REASON})
    task_id = KlingHook().create_task("text2video", {"prompt": "x"})["task_id"]
    emulator.configure(clock_offset=3600)
    trigger = sensor(poke_interval=0.1, initial_delay=0).wait_trigger({"task_id": task_id}, timeout=10)

    async def first_event():
        return await anext(trigger.run())

    payload = asyncio.run(asyncio.wait_for(first_event(), 10)).payload
    with pytest.raises(AirflowFailException, match=f"Kling task {task_id} failed: {REASON}"):
        sensor().execute_complete({"ti": RecordingTI()}, payload)


def test_task_type_is_stored_as_kling_task_type_and_templated():
    s = sensor(task_type="generations")
    assert s.kling_task_type == "generations"
    assert set(s.template_fields) >= {"kling_task_id", "kling_task_type"}
    assert sensor(task_type="{{ params.kind }}").kling_task_type == "{{ params.kind }}"


def test_an_invalid_task_type_is_refused_at_construction():
    with pytest.raises(ValueError, match="task_type must be one of") as info:
        sensor(task_type="text-to-video")
    assert all(name in str(info.value) for name in TASK_TYPES)
    assert "text-to-video" in str(info.value)


@pytest.mark.parametrize("deferrable", [True, False])
def test_an_unsafe_task_id_is_refused_before_any_request(emulator, kling_conn, deferrable):
    s = KlingTaskSensor(
        task_id="wait",
        kling_task_id="../../v1/images/generations",
        task_type="text2video",
        deferrable=deferrable,
    )
    with pytest.raises(ValueError, match="kling_task_id"):
        s.execute({"ti": RecordingTI()})
    assert emulator.stats()["requests_total"] == 0


def test_the_deferred_trigger_carries_the_sensor_settings():
    s = sensor(
        task_type="image2video",
        kling_conn_id="kling_other",
        poke_interval=15,
        initial_delay=40,
        max_consecutive_failures=4,
    )
    before = time.time()
    created_10s_ago = {"task_id": "42", "created_at": int(before * 1000) - 10_000}
    kwargs = s.wait_trigger(created_10s_ago, timeout=600).serialize()[1]
    assert kwargs["task_type"] == "image2video" and kwargs["task_id"] == "42"
    assert kwargs["kling_conn_id"] == "kling_other"
    assert kwargs["max_consecutive_failures"] == 4
    assert before + 600 <= kwargs["deadline"] <= time.time() + 600
    # initial_delay counts from the task's creation: 40 s after it is 30 s from now.
    assert kwargs["poll_interval"] == 15 and 29 <= kwargs["initial_delay"] <= 30.5
    # An old task is polled after one interval (the worker just asked); no created_at: the whole delay.
    assert (
        s.wait_trigger({"task_id": "42", "created_at": 0}, timeout=600).serialize()[1]["initial_delay"] == 15
    )
    assert s.wait_trigger({"task_id": "42"}, timeout=600).serialize()[1]["initial_delay"] == 40


@pytest.mark.parametrize(("task_type", "poll", "initial"), [("text2video", 14, 30), ("generations", 5, 8)])
def test_default_timing_comes_from_the_task_type(task_type, poll, initial):
    s = sensor(task_type=task_type)
    assert s.poke_interval == poll  # poke and reschedule modes too
    kwargs = s.wait_trigger({"task_id": "1", "created_at": int(time.time() * 1000)}, timeout=60).serialize()[
        1
    ]
    assert kwargs["poll_interval"] == poll and initial - 1 <= kwargs["initial_delay"] <= initial
    assert sensor(task_type="{{ params.kind }}").poke_interval == 10

"""KlingTaskTrigger.run() driven directly against the emulator over real loopback HTTP.

Every wait is wrapped in ``asyncio.wait_for`` so a broken trigger fails a test instead of hanging it.
Finished tasks are made with ``clock_offset`` (the emulator computes status from its clock), which keeps
request counts exact instead of racing the emulator with sleeps.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import pytest
from airflow.triggers.base import TaskSuccessEvent, TriggerEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.retry import RetryPolicy
from airflow_provider_kling.triggers.kling import KlingTaskTrigger, sleep_until_tick
from tests.conftest import TOKEN

EVENT_KEYS = {"status", "task_type", "task_id", "task", "message"}
CLASSPATH = "airflow_provider_kling.triggers.kling.KlingTaskTrigger"
# Fast but real: backoff and polling in tens of milliseconds.
FAST = {"poll_interval": 0.05, "backoff_base": 0.05, "backoff_max": 0.1}
TIMING_SLACK = 0.005  # asyncio may wake a timer up to its clock resolution early
MIN_DELAY = RetryPolicy().min_delay  # the floor of every backoff
CONCURRENCY_MIN_DELAY = RetryPolicy().concurrency_min_delay  # the floor after a 1303


def create_task(task_type: str = "text2video", **payload: Any) -> str:
    """Create a Kling task on the emulator through the (sync) hook; returns its id."""
    payload.setdefault("prompt", "a red fox running through snow")
    return KlingHook().create_task(task_type, payload)["task_id"]


def finished_task(emulator, task_type: str = "text2video", **payload: Any) -> str:
    """A task whose generation is over: the emulator clock is moved past its end."""
    task_id = create_task(task_type, **payload)
    emulator.configure(clock_offset=3600)
    assert emulator.task(task_id)["task_status"] in ("succeed", "failed")
    return task_id


def make_trigger(task_id: str, task_type: str = "text2video", **kwargs: Any) -> KlingTaskTrigger:
    return KlingTaskTrigger(task_type=task_type, task_id=task_id, **{**FAST, **kwargs})


async def collect(trigger: KlingTaskTrigger, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Every event the trigger yields until its generator ends (so this also proves it ends)."""

    async def run() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    return await asyncio.wait_for(run(), timeout=timeout)


async def only_event(trigger: KlingTaskTrigger, timeout: float = 10.0) -> dict[str, Any]:
    events = await collect(trigger, timeout)
    assert len(events) == 1, events
    assert set(events[0]) == EVENT_KEYS
    return events[0]


def task_requests(emulator, task_id: str) -> list[dict[str, Any]]:
    """The emulator's log entries for queries of this task (faulty and dropped ones included)."""
    return [r for r in emulator.stats()["request_log"] if r["path"].endswith(f"/{task_id}")]


def api_requests(emulator) -> list[dict[str, Any]]:
    return [r for r in emulator.stats()["request_log"] if r["path"].startswith(("/v1/", "/kling/v1/"))]


def gaps(entries: list[dict[str, Any]]) -> list[float]:
    return [b["t"] - a["t"] for a, b in itertools.pairwise(entries)]


# -- outcomes -------------------------------------------------------------------------------------------


async def test_success_event_has_exactly_the_documented_shape(emulator, kling_conn):
    task_id = create_task()
    started = time.monotonic()
    event = await only_event(make_trigger(task_id, poll_interval=0.1))

    assert event["status"] == "success"
    assert event["task_type"] == "text2video"
    assert event["task_id"] == task_id and isinstance(event["task_id"], str)
    assert event["task"]["task_id"] == task_id
    assert event["task"]["task_status"] == "succeed"
    videos = event["task"]["task_result"]["videos"]
    assert len(videos) == 1 and videos[0]["url"].endswith(f"/media/{task_id}/0.mp4")
    assert task_id in event["message"]
    json.dumps(event)  # the payload crosses the triggerer/worker boundary as JSON
    # It polled while the task ran (0.4 s at 0.1 s intervals), then stopped: no poll after the end.
    queries = task_requests(emulator, task_id)
    assert 2 <= len(queries) <= 7, queries
    assert all(r["status"] == 200 for r in queries)
    assert min(gaps(queries)) >= 0.1 - TIMING_SLACK
    assert time.monotonic() - started < 2


async def test_image_task_event_carries_the_images(emulator, kling_conn):
    task_id = finished_task(emulator, "generations", n=2)
    event = await only_event(make_trigger(task_id, "generations"))
    assert event["status"] == "success" and event["task_type"] == "generations"
    images = event["task"]["task_result"]["images"]
    assert [i["index"] for i in images] == [0, 1]
    assert [r["path"] for r in task_requests(emulator, task_id)] == [f"/v1/images/generations/{task_id}"]


async def test_failed_generation_reports_kling_reason(emulator, kling_conn):
    reason = "Failure to pass the risk control system: the prompt violates the content policy"
    emulator.configure(fail_next={"count": 1, "message": reason})
    task_id = create_task()
    event = await only_event(make_trigger(task_id))
    assert event["status"] == "failed"
    assert task_id in event["message"] and reason in event["message"]
    assert event["task"]["task_status"] == "failed"
    assert event["task"]["task_status_msg"] == reason


async def test_end_from_trigger_ends_a_success_with_the_xcoms_the_worker_would_push(emulator, kling_conn):
    task_id = finished_task(emulator, "text-to-audio", prompt="rain on a tin roof", duration=5)
    trigger = make_trigger(task_id, "text-to-audio", end_from_trigger=True, audio_format="wav")
    (event,) = await asyncio.wait_for(_events(trigger), timeout=10)

    assert isinstance(event, TaskSuccessEvent)  # Airflow marks the task successful, no worker resumes it
    task = emulator.task(task_id)
    assert event.xcoms == {
        "return_value": [task["task_result"]["audios"][0]["url_wav"]],
        "kling_task": task,
        "kling_units": float(task["final_unit_deduction"]),
    }
    assert event.xcoms["return_value"][0].endswith(".wav")
    json.dumps(event.xcoms)  # stored as XCom values by the triggerer


async def test_end_from_trigger_without_do_xcom_push_leaves_out_return_value(emulator, kling_conn):
    task_id = finished_task(emulator)
    trigger = make_trigger(task_id, end_from_trigger=True, push_return_value=False)
    (event,) = await asyncio.wait_for(_events(trigger), timeout=10)
    assert isinstance(event, TaskSuccessEvent)
    assert set(event.xcoms) == {"kling_task", "kling_units"}


async def test_end_from_trigger_still_resumes_the_worker_on_a_failure(emulator, kling_conn):
    emulator.configure(fail_next={"count": 1, "message": "the prompt violates the content policy"})
    task_id = create_task()
    (event,) = await asyncio.wait_for(_events(make_trigger(task_id, end_from_trigger=True)), timeout=10)
    assert not isinstance(event, TaskSuccessEvent)  # the worker raises with Kling's reason, or retries
    assert event.payload["status"] == "failed" and "content policy" in event.payload["message"]


async def _events(trigger: KlingTaskTrigger) -> list[TriggerEvent]:
    return [event async for event in trigger.run()]


async def test_deadline_ends_the_wait_with_a_timeout_event(emulator, kling_conn):
    emulator.configure(task_duration=600)
    task_id = create_task()
    started = time.monotonic()
    event = await only_event(make_trigger(task_id, poll_interval=0.1, deadline=time.time() + 0.5))
    elapsed = time.monotonic() - started
    assert event["status"] == "timeout"
    assert task_id in event["message"] and "processing" in event["message"]
    assert event["task"] is None
    assert 0.45 <= elapsed < 1.5
    assert emulator.task(task_id)["task_status"] == "processing"


async def test_deadline_already_passed_times_out_without_polling(emulator, kling_conn):
    task_id = create_task()
    event = await only_event(make_trigger(task_id, deadline=time.time() - 1), timeout=2)
    assert event["status"] == "timeout" and "not yet polled" in event["message"]
    assert task_requests(emulator, task_id) == []


async def test_deadline_interrupts_a_long_backoff(emulator, kling_conn):
    """A Retry-After (or backoff) longer than the time left must not outlive the deadline."""
    task_id = create_task()
    emulator.configure(fail_requests=[{"code": 1302, "retry_after": 120, "scope": "query"}])
    started = time.monotonic()
    event = await only_event(make_trigger(task_id, deadline=time.time() + 0.5), timeout=5)
    assert event["status"] == "timeout"
    assert time.monotonic() - started < 1.5
    assert [r["code"] for r in task_requests(emulator, task_id)] == [1302]


async def test_initial_delay_postpones_the_first_query(emulator, kling_conn):
    task_id = finished_task(emulator)
    started = time.time()
    event = await only_event(make_trigger(task_id, initial_delay=0.5))
    assert event["status"] == "success"
    (query,) = task_requests(emulator, task_id)
    assert query["t"] - started >= 0.5 - TIMING_SLACK


async def test_wake_ups_of_waits_started_apart_land_on_shared_ticks():
    """Waits started at different moments wake on the same tick boundaries (one loop wake-up for all)."""
    loop = asyncio.get_running_loop()
    seconds, tick = 0.3, 0.2
    woke: list[tuple[float, float]] = []

    async def wait(offset: float) -> None:
        await asyncio.sleep(offset)
        start = loop.time()
        await sleep_until_tick(seconds, tick)
        woke.append((start, loop.time()))

    await asyncio.gather(*(wait(offset) for offset in (0.0, 0.03, 0.07, 0.11, 0.16)))
    for start, end in woke:
        assert seconds <= end - start < seconds + tick + TIMING_SLACK
        late = end - round(end / tick) * tick  # how far past a tick boundary of the loop clock it woke
        assert -TIMING_SLACK <= late < 0.05
    assert len({round(end / tick) for _, end in woke}) <= 2  # five waits, at most two wake-ups
    start = loop.time()
    await sleep_until_tick(0, tick)
    assert loop.time() - start < TIMING_SLACK  # no delay asked, none added


async def test_initial_delay_beyond_the_deadline_times_out_at_the_deadline(emulator, kling_conn):
    task_id = finished_task(emulator)
    started = time.monotonic()
    event = await only_event(make_trigger(task_id, initial_delay=60, deadline=time.time() + 0.3), timeout=5)
    assert event["status"] == "timeout"
    assert time.monotonic() - started < 1.5
    assert task_requests(emulator, task_id) == []


# -- transient faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("faults", "statuses", "min_gap"),
    [
        ([{"code": 5000}], [500], MIN_DELAY),
        ([{"code": 5001}], [503], MIN_DELAY),
        ([{"code": 5002}], [504], MIN_DELAY),
        ([{"code": 1302}], [429], MIN_DELAY),
        # Slots free up only when tasks end: 1303 waits at least a second.
        ([{"code": 1303}], [429], CONCURRENCY_MIN_DELAY),
        ([{"html": True, "status": 502}], [502], MIN_DELAY),
        ([{"malformed": True}], [200], MIN_DELAY),
        # aiohttp silently repeats a GET once after a dropped connection: two drops make one failure.
        ([{"drop": True}, {"drop": True}], [None, None], MIN_DELAY),
        ([{"gateway_error": True, "status": 503}], [503], MIN_DELAY),
    ],
    ids=["5000", "5001", "5002", "1302", "1303", "html502", "malformed", "drop", "gateway503"],
)
async def test_transient_query_fault_is_recovered(emulator, kling_conn, faults, statuses, min_gap):
    task_id = finished_task(emulator)
    emulator.configure(fail_requests=[{**fault, "scope": "query"} for fault in faults])
    event = await only_event(make_trigger(task_id, max_consecutive_failures=2))
    assert event["status"] == "success" and event["task_id"] == task_id
    # Exactly the faulty answer(s), then one good poll that ended the wait: no extra requests.
    requests = task_requests(emulator, task_id)
    assert [r["status"] for r in requests] == [*statuses, 200]
    assert emulator.stats()["queries_by_task"] == {task_id: 1}
    assert requests[-1]["t"] - requests[-2]["t"] >= min_gap - TIMING_SLACK


async def test_retry_after_is_honoured(emulator, kling_conn):
    task_id = finished_task(emulator)
    emulator.configure(fail_requests=[{"code": 1302, "retry_after": 1, "scope": "query"}])
    event = await only_event(make_trigger(task_id))
    assert event["status"] == "success"
    first, second = task_requests(emulator, task_id)
    assert first["code"] == 1302 and second["code"] == 0
    assert second["t"] - first["t"] >= 1.0 - TIMING_SLACK


async def test_random_faults_while_processing_are_survived_with_bounded_queries(emulator, kling_conn):
    emulator.configure(task_duration=0.6)
    task_id = create_task()
    emulator.configure(
        faults={"5000": 0.2, "1302": 0.1, "html": 0.1, "malformed": 0.1}, fault_scope="query", seed=7
    )
    started = time.monotonic()
    event = await only_event(make_trigger(task_id, poll_interval=0.1, max_consecutive_failures=20))
    elapsed = time.monotonic() - started
    assert event["status"] == "success"
    stats = emulator.stats()
    injected = sum(stats["faults_injected"].values())
    assert injected >= 1, "the seed should inject faults; otherwise this test proves nothing"
    requests = task_requests(emulator, task_id)
    assert len(requests) == stats["queries_by_task"][task_id] + injected
    # Good polls are at most one per poll interval (plus the first and the last one).
    assert stats["queries_by_task"][task_id] <= elapsed / 0.1 + 2


async def test_a_good_answer_resets_the_failure_count(emulator, kling_conn):
    emulator.configure(task_duration=600)
    task_id = create_task()
    ok = {"delay": 0, "scope": "query"}  # a one-shot entry that answers normally
    fault = {"code": 5000, "scope": "query"}
    emulator.configure(fail_requests=[fault, ok, fault, ok, fault, ok, fault])
    trigger = make_trigger(task_id, max_consecutive_failures=2, deadline=time.time() + 1.5)
    event = await only_event(trigger)
    # Four failures in all, never two in a row: the wait must run on to its deadline, not give up.
    assert event["status"] == "timeout", event
    codes = [r["code"] for r in task_requests(emulator, task_id)]
    assert codes[:7] == [5000, 0, 5000, 0, 5000, 0, 5000]


async def test_consecutive_failures_end_in_an_error_event(emulator, kling_conn):
    task_id = create_task()
    emulator.configure(faults={"5000": 1.0}, fault_scope="query")
    event = await only_event(make_trigger(task_id, max_consecutive_failures=3))
    assert event["status"] == "error" and event["task"] is None
    assert "5000" in event["message"] and "server internal error" in event["message"]
    assert "3 consecutive failures" in event["message"]
    assert [r["code"] for r in task_requests(emulator, task_id)] == [5000, 5000, 5000]


# -- errors that no retry can fix -----------------------------------------------------------------------


async def test_wrong_token_is_an_error_after_one_request(emulator, kling_conn):
    task_id = create_task()
    wrong = "sk-wrong-0a1b2c3d4e5f6a7b8c9d"
    kling_conn(password=wrong)
    event = await only_event(make_trigger(task_id, max_consecutive_failures=50), timeout=3)
    assert event["status"] == "error"
    assert "1002" in event["message"]
    assert wrong not in json.dumps(event)
    assert [r["status"] for r in task_requests(emulator, task_id)] == [401]
    await asyncio.sleep(0.3)  # nothing keeps polling after the event
    assert len(task_requests(emulator, task_id)) == 1


async def test_unknown_task_id_is_an_error_after_one_request(emulator, kling_conn):
    event = await only_event(make_trigger("999999999999999999", max_consecutive_failures=50), timeout=3)
    assert event["status"] == "error"
    assert "1203" in event["message"] and event["task_id"] == "999999999999999999"
    assert [r["code"] for r in api_requests(emulator)] == [1203]


async def test_a_connection_missing_in_the_triggerer_is_an_error_event(emulator, kling_conn):
    event = await only_event(make_trigger("123", kling_conn_id="kling_not_in_triggerer"), timeout=3)
    assert event["status"] == "error" and "kling_not_in_triggerer" in event["message"]
    assert api_requests(emulator) == []


@pytest.mark.parametrize(
    "code",
    [1101, 1102, 1103, 1300, 1304],
    ids=["1101-arrears-429", "1102-packs-429", "1103-no-access", "1300-policy", "1304-ip-429"],
)
async def test_non_retryable_codes_end_at_once_whatever_the_http_status(emulator, kling_conn, code):
    task_id = create_task()
    emulator.configure(fail_requests=[{"code": code, "scope": "query", "message": f"refused {code}"}])
    event = await only_event(make_trigger(task_id, max_consecutive_failures=50), timeout=3)
    assert event["status"] == "error"
    assert str(code) in event["message"] and f"refused {code}" in event["message"]
    assert len(task_requests(emulator, task_id)) == 1


# -- no busy loop ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("backoff_base", [0.2, 0.0])
async def test_failures_never_turn_into_a_busy_loop(emulator, kling_conn, backoff_base):
    task_id = create_task()
    emulator.configure(faults={"5000": 1.0}, fault_scope="query")
    window = 1.5
    trigger = make_trigger(
        task_id,
        backoff_base=backoff_base,
        backoff_max=0.2,
        max_consecutive_failures=10_000,
        deadline=time.time() + window,
    )
    event = await only_event(trigger, timeout=5)
    assert event["status"] == "timeout"
    requests = task_requests(emulator, task_id)
    assert min(gaps(requests)) >= MIN_DELAY - TIMING_SLACK, gaps(requests)
    assert 3 <= len(requests) <= window / MIN_DELAY + 1


async def test_a_401_does_not_loop(emulator, kling_conn):
    task_id = create_task()
    emulator.configure(faults={"1002": 1.0}, fault_scope="query")
    event = await only_event(make_trigger(task_id, poll_interval=0.01, max_consecutive_failures=10_000))
    assert event["status"] == "error"
    await asyncio.sleep(0.2)
    assert emulator.stats()["requests_total"] == 2  # the create and one query


# -- serialization and restarts -------------------------------------------------------------------------


def test_serialize_round_trips_to_plain_json_without_secrets(kling_conn):
    trigger = KlingTaskTrigger(
        task_type="generations",
        task_id="867283741759111202",
        kling_conn_id="kling_default",
        poll_interval=7,
        deadline=1_900_000_000.5,
        initial_delay=3,
        max_consecutive_failures=4,
        backoff_base=0.5,
        backoff_max=9,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == CLASSPATH
    assert set(kwargs) == {
        "task_type",
        "task_id",
        "kling_conn_id",
        "poll_interval",
        "deadline",
        "initial_delay",
        "max_consecutive_failures",
        "backoff_base",
        "backoff_max",
        "end_from_trigger",
        "audio_format",
        "push_return_value",
    }
    assert kwargs["task_id"] == "867283741759111202"  # a string, never a number
    wire = json.loads(json.dumps(kwargs))
    assert wire == kwargs
    assert KlingTaskTrigger(**wire).serialize() == (classpath, kwargs)
    for text in (repr(trigger), json.dumps(kwargs), repr(vars(trigger))):
        assert TOKEN not in text


def test_serialize_survives_airflow_trigger_row(kling_conn):
    """The real path: Airflow stores the kwargs (serde + Fernet) in the trigger table and rebuilds."""
    from airflow.models.trigger import Trigger

    try:
        from airflow.sdk._shared.module_loading import import_string
    except ImportError:  # Airflow 2
        from airflow.utils.module_loading import import_string

    trigger = KlingTaskTrigger(
        task_type="text2video", task_id="867283741759111202", deadline=1_900_000_000.25
    )
    row = Trigger.from_object(trigger)
    rebuilt = import_string(row.classpath)(**row.kwargs)
    assert rebuilt.serialize() == trigger.serialize()
    assert TOKEN not in row.encrypted_kwargs


@settings(max_examples=50, deadline=None)
@given(
    task_type=st.sampled_from(["text2video", "image2video", "generations", "kolors-virtual-try-on"]),
    task_id=st.from_regex(r"[A-Za-z0-9._:-]{1,40}", fullmatch=True),
    poll_interval=st.floats(min_value=0.001, max_value=1e6, allow_nan=False),
    deadline=st.none() | st.floats(min_value=0, max_value=4e9, allow_nan=False),
    initial_delay=st.floats(min_value=0, max_value=1e5, allow_nan=False),
    max_failures=st.integers(min_value=1, max_value=10_000),
)
def test_serialize_round_trip_property(
    task_type, task_id, poll_interval, deadline, initial_delay, max_failures
):
    trigger = KlingTaskTrigger(
        task_type=task_type,
        task_id=task_id,
        poll_interval=poll_interval,
        deadline=deadline,
        initial_delay=initial_delay,
        max_consecutive_failures=max_failures,
    )
    classpath, kwargs = trigger.serialize()
    again = KlingTaskTrigger(**json.loads(json.dumps(kwargs))).serialize()
    assert again == (classpath, kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"poll_interval": 0}, "poll_interval"), ({"max_consecutive_failures": 0}, "max_consecutive_failures")],
)
def test_invalid_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        KlingTaskTrigger(task_type="text2video", task_id="1", **kwargs)


async def test_a_recreated_trigger_continues_with_the_same_deadline(emulator, kling_conn, monkeypatch):
    sessions = spy_sessions(monkeypatch)
    emulator.configure(task_duration=600)
    task_id = create_task()
    first = make_trigger(task_id, poll_interval=0.1, deadline=time.time() + 60)
    with pytest.raises(TimeoutError):
        await collect(first, timeout=0.5)  # the triggerer goes away mid-wait
    polled = len(task_requests(emulator, task_id))
    assert polled >= 2
    assert emulator.task(task_id)["task_status"] == "processing"
    assert sessions and all(s.closed for s in sessions), "a cancelled trigger must close its HTTP session"

    second = KlingTaskTrigger(**json.loads(json.dumps(first.serialize()[1])))
    assert second.deadline == first.deadline
    emulator.configure(clock_offset=3600)  # the generation ends while nobody waits
    event = await only_event(second)
    assert event["status"] == "success" and event["task_id"] == task_id
    assert len(task_requests(emulator, task_id)) == polled + 1


async def test_a_trigger_recreated_after_its_deadline_times_out(emulator, kling_conn):
    emulator.configure(task_duration=600)
    task_id = create_task()
    first = make_trigger(task_id, deadline=time.time() + 0.4)
    with pytest.raises(TimeoutError):
        await collect(first, timeout=0.2)
    await asyncio.sleep(0.3)  # the triggerer restart takes longer than the time left
    second = KlingTaskTrigger(**first.serialize()[1])
    event = await only_event(second, timeout=2)
    assert event["status"] == "timeout"


# -- HTTP connection reuse ------------------------------------------------------------------------------


def spy_sessions(monkeypatch) -> list[Any]:
    """Record every aiohttp session the hook hands out (observation only; the HTTP path is real)."""
    seen: list[Any] = []
    original = KlingHook._aget_session

    def spy(self, settings):
        session = original(self, settings)
        seen.append(session)
        return session

    monkeypatch.setattr(KlingHook, "_aget_session", spy)
    return seen


class ConnectionCountingProxy:
    """A TCP pass-through in front of the emulator that counts the connections clients open."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.handlers: set[asyncio.Task[Any]] = set()

    async def __aenter__(self) -> ConnectionCountingProxy:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        if self.handlers:  # the client closed its connections; let the pipes wind down
            await asyncio.wait(self.handlers, timeout=2)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        up_reader, up_writer = await asyncio.open_connection(*self.target)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)


async def test_polls_share_one_session_and_one_connection(emulator, kling_conn, monkeypatch):
    sessions = spy_sessions(monkeypatch)
    emulator.configure(task_duration=0.6)
    task_id = create_task()
    async with ConnectionCountingProxy(emulator.host, emulator.port) as proxy:
        kling_conn(host=proxy.url)
        event = await only_event(make_trigger(task_id, poll_interval=0.1))
    assert event["status"] == "success"
    polls = len(task_requests(emulator, task_id))
    assert polls >= 4
    assert len(sessions) == polls and len({id(s) for s in sessions}) == 1
    assert sessions[0].closed  # closed once the wait is over
    assert proxy.connections == 1, f"{proxy.connections} TCP connections for {polls} polls"


# -- BaseTrigger.task_id ---------------------------------------------------------------------------------


async def test_airflow_task_id_does_not_replace_the_kling_task_id(emulator, kling_conn):
    task_id = finished_task(emulator)
    trigger = make_trigger(task_id)
    trigger.task_id = "airflow_task"  # what the triggerer does through BaseTrigger.task_instance
    assert trigger.serialize()[1]["task_id"] == task_id
    event = await only_event(trigger)
    assert event["status"] == "success" and event["task_id"] == task_id
    assert [r["path"] for r in task_requests(emulator, task_id)] == [f"/v1/videos/text2video/{task_id}"]
    assert trigger.task_id == "airflow_task"


async def test_concurrent_waits_share_the_session_until_the_last_one_ends(emulator, kling_conn, monkeypatch):
    """Triggers on one loop (as in a triggerer) share a session; one finishing must not cut the others off."""
    sessions = spy_sessions(monkeypatch)
    emulator.configure(task_durations={"generations": 0.3, "text2video": 1.0})
    short = create_task("generations")
    long = create_task("text2video")
    async with ConnectionCountingProxy(emulator.host, emulator.port) as proxy:
        kling_conn(host=proxy.url)
        short_event, long_event = await asyncio.gather(
            only_event(make_trigger(short, "generations", poll_interval=0.1)),
            only_event(make_trigger(long, poll_interval=0.1)),
        )
    assert short_event["status"] == long_event["status"] == "success"
    long_queries = task_requests(emulator, long)
    short_end = task_requests(emulator, short)[-1]["t"]
    assert sum(r["t"] > short_end for r in long_queries) >= 3, "the long wait went on polling alone"
    assert all(r["status"] == 200 for r in long_queries)
    assert len({id(s) for s in sessions}) == 1
    assert sessions[0].closed
    assert proxy.connections <= 2  # overlapping polls may need a second keep-alive connection, no more

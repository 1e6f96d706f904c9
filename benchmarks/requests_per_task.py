"""Requests per task: status queries and detection latency at the default wait timing vs fixed 5 s polling.

For emulated video tasks of about 60, 120 and 300 s, each task is created on the emulator and then waited for
exactly as a deferrable ``KlingTextToVideoOperator`` does after its create: ``wait_trigger(task)`` builds one
``KlingTaskTrigger`` with the task type's defaults (``initial_delay`` counted from the task's ``created_at``,
then every ``poll_interval``), and that trigger runs until its event. The baseline waits for a twin task (same
duration, same creation moment) with ``KlingTaskTrigger(poll_interval=5, initial_delay=0)``: fixed 5-second
polling, the dbt-cloud deferrable default. Query requests per task are the emulator's ``queries_by_task``;
detection latency is the event's time minus the task's end (``created_at`` + its duration).

Phases: per duration, the tasks are created at moments spread over one poll interval (14 s), and their
durations are spread over one interval around the nominal one (e.g. 53-67 s for "60 s"), so completions fall
at every phase of both poll grids and p95 means something.

Time: a virtual clock, so 300-second tasks do not take 300 s. The emulator runs in this process on the same
asyncio loop (real loopback HTTP through aiohttp, both sides). The loop's clock jumps to the next timer
whenever nothing is ready (after a short real grace period for loopback I/O in flight); the same offset is
the emulator's ``clock_offset`` (advanced in lock-step) and is added to ``time.time()`` as seen by the trigger
and wait-timing modules. Nothing else is changed: the trigger, hook, operator and emulator code are the real
ones. ``--real-time`` runs the same scenario on a plain loop in real time (slow; to check the virtual run).

Run: ``.venv/bin/python benchmarks/requests_per_task.py [--quick] [--real-time]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import selectors
import sys
import time
from collections.abc import Callable
from typing import Any

import _common as c

CONN_ID = "kling_bench"
TASK_TYPE = "text2video"
NOMINAL_DURATIONS = (60, 120, 300)
BASELINE_POLL = 5.0
GRACE = 0.002  # real seconds to wait for loopback I/O before the virtual clock may jump
# Added to every duration so that no completion coincides with a poll to the millisecond (a tie would make
# the count depend on sub-millisecond processing time).
TIE_BREAK = 0.137


class _JumpingSelector(selectors.EpollSelector):
    """An epoll selector that, when nothing is ready, lets its loop's clock jump instead of sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.on_idle: Callable[[float], None] = lambda seconds: None

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready or timeout == 0:
            return ready
        ready = super().select(GRACE if timeout is None else min(timeout, GRACE))
        if ready or timeout is None:
            return ready
        self.on_idle(timeout - GRACE)
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """``time()`` = real monotonic time + the idle time skipped so far (``offset``)."""

    def __init__(self) -> None:
        selector = _JumpingSelector()
        super().__init__(selector)
        self.offset = 0.0
        self.listeners: list[Callable[[float], None]] = []
        selector.on_idle = self._jump

    def time(self) -> float:
        return super().time() + self.offset

    def _jump(self, seconds: float) -> None:
        if seconds > 0:
            self.offset += seconds
            for listener in self.listeners:
                listener(self.offset)


class _Clock:
    """Stands in for the ``time`` module inside a patched module: ``time()`` is virtual, the rest is real."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        self._loop = loop

    def time(self) -> float:
        return time.time() + self._loop.offset

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


async def _scenario(virtual: bool, per_duration: int, clock: Callable[[], float]) -> dict[str, Any]:
    import aiohttp

    from airflow_provider_kling.operators.kling import KlingTextToVideoOperator
    from airflow_provider_kling.testing import EmulatorConfig, KlingEmulator
    from airflow_provider_kling.testing.server import start_site
    from airflow_provider_kling.triggers.kling import KlingTaskTrigger

    emulator = KlingEmulator(EmulatorConfig(submitted_seconds=5.0))
    loop = asyncio.get_running_loop()
    if isinstance(loop, VirtualTimeLoop):
        loop.listeners.append(lambda offset: setattr(emulator.config, "clock_offset", offset))
    runner, port = await start_site(emulator, "127.0.0.1", 0, None)
    url = f"http://127.0.0.1:{port}"
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(
        {"conn_type": "kling", "host": url, "password": c.TOKEN}
    )
    operator = KlingTextToVideoOperator(task_id="generate", prompt="p", kling_conn_id=CONN_ID)
    default_poll = operator.wait_timing({})[0]
    create_lock = asyncio.Lock()
    results: list[dict[str, Any]] = []
    session = aiohttp.ClientSession(headers={"Authorization": f"Bearer {c.TOKEN}"})

    async def create(duration: float) -> dict[str, Any]:
        async with create_lock:  # the emulator's task_duration applies to the next create
            emulator.config.task_duration = duration
            async with session.post(f"{url}/v1/videos/{TASK_TYPE}", json={"prompt": "bench"}) as response:
                return (await response.json())["data"]

    async def wait(trigger: KlingTaskTrigger) -> tuple[float, str]:
        async for event in trigger.run():
            return clock(), str(event.payload["status"])
        raise RuntimeError("the trigger ended without an event")

    # Creation moments spread over one default poll interval; durations over one interval around nominal,
    # paired with the moments in a shuffled (seeded) order.
    spread = [default_poll * (k + 0.5) / per_duration for k in range(per_duration)]
    shuffled = {d: random.Random(d).sample(spread, len(spread)) for d in NOMINAL_DURATIONS}

    async def one(nominal: int, index: int) -> None:
        await asyncio.sleep(spread[index])
        duration = nominal - default_poll / 2 + shuffled[nominal][index] + TIE_BREAK
        for mode in ("default", "baseline"):
            task = await create(duration)
            if mode == "default":
                trigger = operator.wait_trigger(task, timeout=operator.timeout)
            else:
                trigger = KlingTaskTrigger(
                    task_type=TASK_TYPE,
                    task_id=str(task["task_id"]),
                    kling_conn_id=CONN_ID,
                    poll_interval=BASELINE_POLL,
                    initial_delay=0.0,
                    deadline=clock() + operator.timeout,
                )
            results.append(
                {
                    "mode": mode,
                    "nominal": nominal,
                    "task_id": str(task["task_id"]),
                    "done_at": task["created_at"] / 1000 + duration,
                    "waiter": asyncio.create_task(wait(trigger)),
                }
            )

    started_real, started_clock = time.monotonic(), clock()
    try:
        await asyncio.wait_for(
            asyncio.gather(*(one(d, i) for d in NOMINAL_DURATIONS for i in range(per_duration))), 120
        )
        await asyncio.wait_for(asyncio.gather(*(r["waiter"] for r in results)), 3600 if virtual else 900)
    finally:
        await session.close()
    queries = dict(emulator.stats.queries_by_task)
    elapsed_real, elapsed_clock = time.monotonic() - started_real, clock() - started_clock
    await runner.cleanup()
    rows = []
    for r in results:
        event_at, status = r["waiter"].result()
        rows.append(
            {
                "mode": r["mode"],
                "nominal": r["nominal"],
                "requests": queries.get(r["task_id"], 0),
                "latency": event_at - r["done_at"],
                "status": status,
            }
        )
    executor_used = getattr(loop, "_default_executor", None) is not None
    return {
        "rows": rows,
        "real_seconds": elapsed_real,
        "simulated_seconds": elapsed_clock,
        "executor_used": executor_used,
        "default_initial_delay": operator.wait_timing({})[1],
        "default_poll": default_poll,
    }


def run(virtual: bool, per_duration: int) -> dict[str, Any]:
    if not virtual:
        return asyncio.run(_scenario(False, per_duration, time.time))
    import airflow_provider_kling.triggers.kling as trigger_module
    import airflow_provider_kling.waiting as waiting_module

    loop = VirtualTimeLoop()
    clock = _Clock(loop)
    patched = (trigger_module, waiting_module)
    originals = [getattr(module, "time") for module in patched]  # noqa: B009 - the module, not a function
    for module in patched:
        setattr(module, "time", clock)  # noqa: B010
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(_scenario(True, per_duration, clock.time))
    finally:
        for module, original in zip(patched, originals, strict=True):
            setattr(module, "time", original)  # noqa: B010
        asyncio.set_event_loop(None)
        loop.close()


def summarise(result: dict[str, Any]) -> list[dict[str, Any]]:
    summary = []
    for nominal in NOMINAL_DURATIONS:
        rows = {
            mode: [r for r in result["rows"] if r["nominal"] == nominal and r["mode"] == mode]
            for mode in ("default", "baseline")
        }
        default, baseline = rows["default"], rows["baseline"]
        summary.append(
            {
                "nominal": nominal,
                "tasks": len(default),
                "ratio": sum(r["requests"] for r in default) / sum(r["requests"] for r in baseline),
                "default_requests": sum(r["requests"] for r in default) / len(default),
                "baseline_requests": sum(r["requests"] for r in baseline) / len(baseline),
                "default_p50": c.percentile([r["latency"] for r in default], 50),
                "default_p95": c.percentile([r["latency"] for r in default], 95),
                "default_max": max(r["latency"] for r in default),
                "baseline_p50": c.percentile([r["latency"] for r in baseline], 50),
                "baseline_p95": c.percentile([r["latency"] for r in baseline], 95),
                "all_success": all(r["status"] == "success" for r in default + baseline),
            }
        )
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer tasks per duration")
    parser.add_argument("--real-time", action="store_true", help="no virtual clock (takes over 5 minutes)")
    parser.add_argument("--tasks", type=int, help="tasks per duration and mode (default 28, quick 7)")
    args = parser.parse_args()
    per_duration = args.tasks or (7 if args.quick or c.quick_mode() else 28)
    virtual = not args.real_time
    c.header("requests_per_task")
    with c.airflow_home() as env:
        os.environ.update(env)
        result = run(virtual, per_duration)
    summary = summarise(result)
    print(
        f"clock={'virtual' if virtual else 'real'} simulated={result['simulated_seconds']:.0f}s"
        f" real={result['real_seconds']:.1f}s tasks={per_duration} per duration and mode"
        f" default: first poll {result['default_initial_delay']:g}s after creation, then every"
        f" {result['default_poll']:g}s; baseline: every {BASELINE_POLL:g}s from creation"
        f" executor_used={result['executor_used']}"
    )
    print()
    print("-- results (ratios first)")
    for s in summary:
        print(
            f"requests_ratio_{s['nominal']}s={s['ratio']:.3f} (target <= 0.4) {c.verdict(s['ratio'] <= 0.4)}"
            f"  p95_latency_{s['nominal']}s={s['default_p95']:.1f}s (target <= 15 s)"
            f" {c.verdict(s['default_p95'] <= 15)}"
        )
    ok = all(s["all_success"] for s in summary)
    print(f"all_waits_succeeded={ok} {c.verdict(ok)}")
    print()
    print(
        "| task | tasks | requests/task default | requests/task 5 s | ratio | p50 default (s) |"
        " p95 default (s) | max default (s) | p50 5 s (s) | p95 5 s (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for s in summary:
        print(
            f"| ~{s['nominal']} s | {s['tasks']} | {s['default_requests']:.2f} |"
            f" {s['baseline_requests']:.2f} |"
            f" {s['ratio']:.3f} | {s['default_p50']:.1f} | {s['default_p95']:.1f} | {s['default_max']:.1f} |"
            f" {s['baseline_p50']:.1f} | {s['baseline_p95']:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

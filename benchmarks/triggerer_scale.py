"""Triggerer scale: N concurrent ``KlingTaskTrigger``s on one event loop, the emulator in another process.

For each N one child process plays the triggerer: it creates N Kling tasks on the emulator (plain aiohttp
POSTs), then runs N triggers on one asyncio loop the way a triggerer does (one asyncio task per trigger, the
first event ends it, then ``cleanup()``), and reports:

* CPU seconds per poll: the child's CPU time (user + system) from starting the triggers until the last
  event, divided by the API requests the emulator counted in that time;
* memory per waiting trigger: RSS growth (VmRSS) from just before the triggers are built to the largest
  sample taken while all of them are waiting (after every first poll, before any task is done), over N;
* detection latency: the time the trigger's event arrives minus the moment the emulated task finished
  (its ``created_at`` + the emulator's task duration), p50 and p99.

Baseline, same run, same emulator, same loop set-up: providers-http's ``HttpSensorTrigger`` with the same
``poke_interval``, polling the same query endpoint with the same ``Authorization`` header. It fires on the
first 2xx, and sleeps only after a 404, so each one polls the query path of a task id the emulator does not
know (HTTP 404, code 1203): that is its "not finished yet" answer, and a 404 body is smaller than a task
object, which favours the baseline. Its per-poll WARNING log line ("[Try 1 of 3] ... failed") is silenced
(``namespace_levels``), which favours it too. It runs for a fixed window and is then cancelled.

Both kinds of trigger start with their phases spread uniformly over one poll interval (Kling: random
``initial_delay`` in [0, poll_interval); baseline: a random sleep before the trigger starts), as triggers
deferred at different moments would be. One run repeats the largest N with the emulator over TLS
(self-signed certificate made at run time, trusted through ``SSL_CERT_FILE``).

Run: ``.venv/bin/python benchmarks/triggerer_scale.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _common as c

KLING_CONN_ID = "kling_bench"
HTTP_CONN_ID = "http_bench"
TASK_TYPE = "text2video"
CREATE_CONCURRENCY = 64
SAMPLE_EVERY = 0.25


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _open_sockets() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    return count


# -- the child: one triggerer --------------------------------------------------------------------------------


async def _stats(url: str) -> dict[str, Any]:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(f"{url}/emulator/stats") as response:
        return await response.json()


async def _create_tasks(url: str, n: int) -> list[tuple[str, float]]:
    """N text2video tasks, ``(task_id, created_at seconds)`` each, created CREATE_CONCURRENCY at a time."""
    import aiohttp

    semaphore = asyncio.Semaphore(CREATE_CONCURRENCY)
    headers = {"Authorization": f"Bearer {c.TOKEN}"}

    async def one(session: aiohttp.ClientSession, i: int) -> tuple[str, float]:
        async with (
            semaphore,
            session.post(f"{url}/v1/videos/{TASK_TYPE}", json={"prompt": f"bench {i}"}) as r,
        ):
            data = (await r.json())["data"]
            return str(data["task_id"]), data["created_at"] / 1000

    async with aiohttp.ClientSession(headers=headers) as session:
        return list(await asyncio.gather(*(one(session, i) for i in range(n))))


async def _steady(url: str, start: float, end: float) -> tuple[float, int]:
    """CPU seconds and API requests between two moments (epoch seconds), the stats fetches left out."""
    await asyncio.sleep(max(0.0, start - time.time()))
    before = await _stats(url)
    cpu0 = _cpu_seconds()
    await asyncio.sleep(max(0.0, end - time.time()))
    cpu1 = _cpu_seconds()
    after = await _stats(url)
    return cpu1 - cpu0, after["requests_total"] - before["requests_total"]


class _Sampler:
    """RSS and open sockets, sampled while every trigger is waiting (after its first poll, before any end)."""

    def __init__(self, start: float, settle: float) -> None:
        self.start, self.settle = start, settle
        self.rss_waiting = 0
        self.sockets_waiting = 0
        self.samples = 0

    def sample(self, any_event: bool) -> None:
        if any_event or time.time() < self.start + self.settle:
            return
        self.rss_waiting = max(self.rss_waiting, c.rss_bytes())
        self.sockets_waiting = max(self.sockets_waiting, _open_sockets())
        self.samples += 1


Record = Callable[[int, str], None]


def _cost_figures(
    spec: dict[str, Any],
    kind: str,
    wall: tuple[float, float],
    cpu: tuple[float, float],
    polls: int,
    steady: tuple[float, int],
    rss0: int,
    sampler: _Sampler,
) -> dict[str, Any]:
    """The figures every run reports: CPU per poll (whole and steady), memory per trigger, sockets."""
    steady_cpu, steady_polls = steady
    return {
        "kind": kind,
        "n": spec["n"],
        "tls": spec["url"].startswith("https"),
        "poll_interval": spec["poll"],
        "wall_seconds": round(wall[1] - wall[0], 2),
        "cpu_seconds": round(cpu[1] - cpu[0], 3),
        "polls": polls,
        "cpu_per_poll": (cpu[1] - cpu[0]) / polls if polls else None,
        "steady_polls": steady_polls,
        "steady_cpu_per_poll": steady_cpu / steady_polls if steady_polls else None,
        "rss_before_mib": rss0 / 2**20,
        "rss_waiting_mib": sampler.rss_waiting / 2**20,
        "bytes_per_trigger": (sampler.rss_waiting - rss0) / spec["n"] if sampler.samples else None,
        "sockets_waiting": sampler.sockets_waiting,
    }


async def _measure(
    spec: dict[str, Any],
    kind: str,
    tasks: list[tuple[str, float]],
    start_waits: Callable[[float, Record], set[asyncio.Task[None]]],
) -> dict[str, Any]:
    """Run the waits ``start_waits(t0, record)`` starts, one per task, and measure CPU, memory and latency.

    Each wait calls ``record(i, status)`` once when its task's end is seen.
    """
    url, n, poll, duration = spec["url"], spec["n"], spec["poll"], spec["duration"]
    before = await _stats(url)
    gc.collect()
    rss0, cpu0, t0 = c.rss_bytes(), _cpu_seconds(), time.time()
    arrived: dict[int, tuple[float, str]] = {}
    all_arrived = asyncio.Event()

    def record(i: int, status: str) -> None:
        arrived[i] = (time.time(), status)
        if len(arrived) == n:
            all_arrived.set()

    running = start_waits(t0, record)
    sampler = _Sampler(t0, poll + 1.0)
    first_done = min(created for _, created in tasks) + duration
    steady = asyncio.create_task(_steady(url, t0 + poll + 1.0, first_done - 0.5))
    give_up = t0 + duration + poll + 180
    # One event for all: asyncio.wait() on N tasks would add and remove N callbacks per sample.
    while not all_arrived.is_set() and time.time() < give_up:
        try:
            await asyncio.wait_for(all_arrived.wait(), timeout=SAMPLE_EVERY)
        except TimeoutError:
            sampler.sample(bool(arrived))
    cpu1, t1 = _cpu_seconds(), time.time()
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    after = await _stats(url)
    polls = after["requests_total"] - before["requests_total"]
    steady_figures = await steady
    latencies = [arrived[i][0] - (created + duration) for i, (_, created) in enumerate(tasks) if i in arrived]
    statuses = [status for _, status in arrived.values()]
    return {
        **_cost_figures(spec, kind, (t0, t1), (cpu0, cpu1), polls, steady_figures, rss0, sampler),
        "task_duration": duration,
        "events": len(arrived),
        "successes": statuses.count("success"),
        "missing": n - len(arrived),
        "latency_p1": c.percentile(latencies, 1),
        "latency_p50": c.percentile(latencies, 50),
        "latency_p99": c.percentile(latencies, 99),
        "latency_max": max(latencies) if latencies else None,
    }


async def _run_kling(spec: dict[str, Any]) -> dict[str, Any]:
    from airflow_provider_kling.triggers.kling import KlingTaskTrigger

    poll, duration = spec["poll"], spec["duration"]
    rng = random.Random(spec["seed"])
    create_start = time.time()
    tasks = await _create_tasks(spec["url"], spec["n"])
    create_seconds = time.time() - create_start

    async def wait(i: int, trigger: KlingTaskTrigger, record: Record) -> None:
        async for event in trigger.run():
            record(i, str(event.payload["status"]))
            break
        await trigger.cleanup()

    def start_waits(t0: float, record: Record) -> set[asyncio.Task[None]]:
        return {
            asyncio.create_task(
                wait(
                    i,
                    KlingTaskTrigger(
                        task_type=TASK_TYPE,
                        task_id=task_id,
                        kling_conn_id=KLING_CONN_ID,
                        poll_interval=poll,
                        initial_delay=rng.uniform(0, poll),
                        deadline=t0 + duration + 600,
                    ),
                    record,
                )
            )
            for i, (task_id, _) in enumerate(tasks)
        }

    result = await _measure(spec, "kling", tasks, start_waits)
    return {**result, "create_seconds": round(create_seconds, 2)}


async def _run_floor(spec: dict[str, Any]) -> dict[str, Any]:
    """Reference only: the same waits as a bare loop over one shared aiohttp session (no Airflow, no hook).

    It wakes on the same ticks as the trigger (a tenth of the poll interval, at most 0.5 s; the formula is
    repeated here so that this process never imports Airflow).
    """
    import aiohttp

    url, poll = spec["url"], spec["poll"]
    rng = random.Random(spec["seed"])
    tasks = await _create_tasks(url, spec["n"])
    session = aiohttp.ClientSession(headers={"Authorization": f"Bearer {c.TOKEN}"})
    loop, tick = asyncio.get_running_loop(), min(poll / 10, 0.5)

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(math.ceil((loop.time() + seconds) / tick) * tick - loop.time())

    async def wait(i: int, task_id: str, record: Record) -> None:
        await sleep(rng.uniform(0, poll))
        while True:
            async with session.get(f"{url}/v1/videos/{TASK_TYPE}/{task_id}") as response:
                task = json.loads(await response.read())["data"]
            if task["task_status"] in ("succeed", "failed"):
                record(i, "success")
                return
            await sleep(poll)

    def start_waits(t0: float, record: Record) -> set[asyncio.Task[None]]:
        return {asyncio.create_task(wait(i, task_id, record)) for i, (task_id, _) in enumerate(tasks)}

    try:
        return await _measure(spec, "floor", tasks, start_waits)
    finally:
        await session.close()


async def _run_http(spec: dict[str, Any]) -> dict[str, Any]:
    from airflow.providers.http.triggers.http import HttpSensorTrigger

    url, n, poll, window = spec["url"], spec["n"], spec["poll"], spec["window"]
    rng = random.Random(spec["seed"])
    before = await _stats(url)
    gc.collect()
    rss0, cpu0, t0 = c.rss_bytes(), _cpu_seconds(), time.time()
    fired = 0

    async def poll_missing(i: int) -> None:
        nonlocal fired
        await asyncio.sleep(rng.uniform(0, poll))
        trigger = HttpSensorTrigger(
            endpoint=f"v1/videos/{TASK_TYPE}/bench-missing-{i}",
            http_conn_id=HTTP_CONN_ID,
            method="GET",
            headers={"Authorization": f"Bearer {c.TOKEN}"},
            poke_interval=poll,
        )
        async for _ in trigger.run():
            fired += 1  # never expected: the task id does not exist
            break

    running = {asyncio.create_task(poll_missing(i)) for i in range(n)}
    sampler = _Sampler(t0, poll + 1.0)
    steady = asyncio.create_task(_steady(url, t0 + poll + 1.0, t0 + window - 0.5))
    while time.time() < t0 + window:
        await asyncio.sleep(SAMPLE_EVERY)
        sampler.sample(False)
    cpu1, t1 = _cpu_seconds(), time.time()
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    await asyncio.sleep(0.5)
    after = await _stats(url)
    polls = after["requests_total"] - before["requests_total"]
    steady_figures = await steady
    return {
        **_cost_figures(spec, "http", (t0, t1), (cpu0, cpu1), polls, steady_figures, rss0, sampler),
        "fired": fired,
    }


def child(spec: dict[str, Any]) -> None:
    c.raise_fd_limit()
    url = spec["url"]
    os.environ[f"AIRFLOW_CONN_{KLING_CONN_ID.upper()}"] = json.dumps(
        {"conn_type": "kling", "host": url, "password": c.TOKEN}
    )
    os.environ[f"AIRFLOW_CONN_{HTTP_CONN_ID.upper()}"] = json.dumps({"conn_type": "http", "host": url})
    runner = {"kling": _run_kling, "http": _run_http, "floor": _run_floor}[spec["kind"]]
    c.print_result(asyncio.run(runner(spec)))


# -- the parent: emulator + one child per case --------------------------------------------------------------


def run_case(
    kind: str,
    n: int,
    *,
    poll: float,
    duration: float,
    window: float,
    tls: tuple[Path, Path] | None,
    seed: int,
) -> dict[str, Any]:
    with c.airflow_home() as env, c.emulator_process(task_duration=duration, tls=tls) as emulator:
        if tls is not None:
            env["SSL_CERT_FILE"] = str(tls[0])  # the only way to make aiohttp's default context trust it
        if kind == "http":
            env["AIRFLOW__LOGGING__NAMESPACE_LEVELS"] = "airflow.providers.http=ERROR"
        spec = {"kind": kind, "n": n, "url": emulator.url, "poll": poll, "duration": duration}
        spec.update(window=window, seed=seed)
        emulator_cpu0 = emulator.cpu_seconds()
        result = c.run_json_child([__file__, "--child", json.dumps(spec)], env=env, timeout=900)
        result["emulator_cpu_seconds"] = round(emulator.cpu_seconds() - emulator_cpu0, 2)
    result["load_avg"] = c.loadavg()
    _print_case(result)
    return result


def _print_case(r: dict[str, Any]) -> None:
    per_poll = r["cpu_per_poll"]
    per_trigger = r["bytes_per_trigger"]
    parts = [
        f"{r['kind']:>5} N={r['n']:<6} tls={'yes' if r['tls'] else 'no ':3}",
        f"cpu/poll={per_poll * 1e6:.0f}us" if per_poll else "cpu/poll=n/a",
        f"steady={r['steady_cpu_per_poll'] * 1e6:.0f}us/{r['steady_polls']}" if r["steady_polls"] else "",
        f"polls={r['polls']}",
        f"cpu={r['cpu_seconds']:.1f}s",
        f"mem/trigger={per_trigger / 1024:.1f}KB" if per_trigger is not None else "mem/trigger=n/a",
        f"rss={r['rss_before_mib']:.0f}->{r['rss_waiting_mib']:.0f}MiB",
        f"sockets={r['sockets_waiting']}",
    ]
    if r["kind"] in ("kling", "floor"):
        parts += [
            f"latency p1={r['latency_p1']:.2f}s p50={r['latency_p50']:.2f}s p99={r['latency_p99']:.2f}s"
            f" max={r['latency_max']:.2f}s",
            f"events={r['events']} ok={r['successes']} missing={r['missing']}",
            f"create={r.get('create_seconds', 0):.1f}s",
        ]
    else:
        parts.append(f"window={r['wall_seconds']:.0f}s fired={r['fired']}")
    parts.append(f"emulator_cpu={r['emulator_cpu_seconds']:.1f}s load={r['load_avg']}")
    print("  " + " ".join(parts), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 100 and 1,000 only, no repeats")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--poll-interval", type=float, default=5.0)
    parser.add_argument("--task-duration", type=float, default=20.0)
    parser.add_argument("--sizes", help="comma-separated N values (default 100,1000,5000,10000)")
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return 0
    quick = args.quick or c.quick_mode()
    default_sizes = "100,1000" if quick else "100,1000,5000,10000"
    sizes = [int(size) for size in (args.sizes or default_sizes).split(",")]
    poll, duration = args.poll_interval, args.task_duration
    ratio_n = 1000 if 1000 in sizes else sizes[0]
    repeats = 1 if quick else 3
    c.header("triggerer_scale")
    print(
        f"poll_interval={poll:g}s task_duration={duration:g}s sizes={sizes}; CPU ratio at N={ratio_n},"
        f" median of {repeats}; emulator in another process; load avg is the machine's (other jobs included)"
    )
    started = time.time()
    results: list[dict[str, Any]] = []

    def case(kind: str, n: int, tls: tuple[Path, Path] | None = None, seed: int = 0) -> None:
        results.append(run_case(kind, n, poll=poll, duration=duration, window=duration, tls=tls, seed=seed))

    for n in sizes:
        case("kling", n, seed=n)
    for rep in range(repeats):  # baseline and Kling alternate, so a burst of load hits both
        case("http", ratio_n, seed=rep)
        if rep:
            case("kling", ratio_n, seed=rep)
    if not quick:
        case("floor", ratio_n)
    with tempfile.TemporaryDirectory(prefix="kling-bench-tls-") as tmp:
        cert = c.make_self_signed_cert(Path(tmp))
        case("kling", sizes[-1], tls=cert, seed=7)
        if sizes[-1] != ratio_n:
            case("kling", ratio_n, tls=cert, seed=7)
        case("http", ratio_n, tls=cert, seed=7)
    _summary(results, sizes, ratio_n, poll)
    print(f"elapsed={time.time() - started:.0f}s")
    return 0


def _summary(results: list[dict[str, Any]], sizes: list[int], ratio_n: int, poll: float) -> None:
    def pick(kind: str, n: int, tls: bool) -> list[dict[str, Any]]:
        return [r for r in results if r["kind"] == kind and r["n"] == n and r["tls"] == tls]

    def med(kind: str, n: int, tls: bool, key: str = "cpu_per_poll") -> float:
        return c.median([r[key] for r in pick(kind, n, tls) if r[key] is not None])

    kling_cpu, http_cpu = med("kling", ratio_n, False), med("http", ratio_n, False)
    ratio = kling_cpu / http_cpu
    steady = med("kling", ratio_n, False, "steady_cpu_per_poll") / med(
        "http", ratio_n, False, "steady_cpu_per_poll"
    )
    tls_ratio = med("kling", ratio_n, True) / med("http", ratio_n, True)
    largest = sizes[-1]
    big = [*pick("kling", largest, False), *pick("kling", largest, True)]
    worst_p99 = max(r["latency_p99"] for r in big)
    worst_mem = max(r["bytes_per_trigger"] for r in big)
    kling_runs = [r for r in results if r["kind"] == "kling"]
    complete = all(r["missing"] == 0 and r["successes"] == r["n"] for r in kling_runs)
    print()
    print("-- results (ratios first)")
    print(
        f"cpu_per_poll_ratio={ratio:.2f} (target <= 0.2) {c.verdict(ratio <= 0.2)}"
        f"  [KlingTaskTrigger {kling_cpu * 1e6:.0f} us/poll vs HttpSensorTrigger {http_cpu * 1e6:.0f}"
        " us/poll;"
        f" N={ratio_n}, plain HTTP, whole trigger lifetimes, median of {len(pick('http', ratio_n, False))}]"
    )
    print(f"cpu_per_poll_ratio_steady={steady:.2f} (informative: polls only, start-up and ends left out)")
    print(f"cpu_per_poll_ratio_tls={tls_ratio:.2f} (informative: TLS, a handshake per baseline poll)")
    floor = pick("floor", ratio_n, False)
    if floor:
        print(
            f"cpu_per_poll_ratio_floor={floor[0]['cpu_per_poll'] / http_cpu:.2f} (informative: a bare aiohttp"
            f" loop on one shared session, no Airflow, no hook: {floor[0]['cpu_per_poll'] * 1e6:.0f} us/poll,"
            f" steady {floor[0]['steady_cpu_per_poll'] * 1e6:.0f})"
        )
    print(
        f"p99_detection_latency_N{largest}={worst_p99:.2f}s (target <= poll_interval + 2 = {poll + 2:g} s)"
        f" {c.verdict(worst_p99 <= poll + 2)}  [worst of plain HTTP and TLS]"
    )
    print(
        f"memory_per_waiting_trigger_N{largest}={worst_mem / 1024:.1f}KB (target <= 50 KB)"
        f" {c.verdict(worst_mem <= 50 * 1024)}  [worst of plain HTTP and TLS]"
    )
    print(
        f"all_waits_completed={complete} {c.verdict(complete)}"
        f"  [{len(kling_runs)} runs, every trigger fired success]"
    )
    print()
    print(
        "| trigger | N | TLS | CPU/poll (us) | steady CPU/poll (us) | polls | KB/trigger | sockets |"
        " p50 (s) | p99 (s) | max (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    names = {"kling": "KlingTaskTrigger", "http": "HttpSensorTrigger", "floor": "bare aiohttp (reference)"}
    for r in results:
        mem = "" if r["bytes_per_trigger"] is None else f"{r['bytes_per_trigger'] / 1024:.1f}"
        steady_us = "" if r["steady_cpu_per_poll"] is None else f"{r['steady_cpu_per_poll'] * 1e6:.0f}"
        lat = (
            (f"{r['latency_p50']:.2f}", f"{r['latency_p99']:.2f}", f"{r['latency_max']:.2f}")
            if r["kind"] != "http"
            else ("-", "-", "-")
        )
        print(
            f"| {names[r['kind']]} | {r['n']} | {'yes' if r['tls'] else 'no'} |"
            f" {r['cpu_per_poll'] * 1e6:.0f} |"
            f" {steady_us} | {r['polls']} | {mem} | {r['sockets_waiting']} | {' | '.join(lat)} |"
        )


if __name__ == "__main__":
    sys.exit(main())

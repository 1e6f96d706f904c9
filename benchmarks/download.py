"""Download: 1 GiB through ``KlingDownloadOperator`` vs ``curl -o``, throughput and peak memory.

The emulator (another process) serves a 1 GiB result file (``--media-size 1073741824``) at the media URL of a
succeeded task (``/media/{task_id}/0.mp4``). Rounds alternate:

* ``curl -sS --fail -o <tmp>/curl.mp4 <url>``, timed from start to exit;
* in a fresh child process, ``KlingDownloadOperator(urls=[url], destination=<tmp>).execute({"outlet_events":
  {}})``, timed around ``execute`` only. The operator streams to a temporary name, checks Content-Length,
  hashes SHA-256 and renames; curl only writes. Peak RSS growth: the kernel's peak (VmHWM) is reset through
  ``/proc/self/clear_refs`` just before ``execute`` and read after it, minus VmRSS before it; a 5 ms sampler
  of VmRSS is the cross-check.

Throughput ratio = median operator MiB/s over median curl MiB/s, both run as they are, one right after the
other. Each round also runs both once more right after ``warm_page_cache`` (informative; see there why).
Files go to a temporary directory; each is deleted right after its run.

Run: ``.venv/bin/python benchmarks/download.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import _common as c

SIZE = 1024**3
MIB = 1024**2


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False if the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def warm_page_cache(directory: Path, size: int = SIZE) -> float:
    """Write and delete ``size`` bytes in 1 MiB writes; returns the seconds it took.

    On this VM (kernel 6.18, ext4 large folios, ``virtio_balloon`` free-page reporting) a 1 MiB ``write()``
    into the page cache needs high-order pages, which have usually been handed back to the host and must be
    faulted in again: 1 GiB written in 1 MiB writes costs ~2 s of system time (~450 MiB/s), in 16-64 KiB
    writes (curl's pattern) ~0.25 s. Right after 1 MiB-write files were deleted, their pages are reused and
    1 MiB writes are fast too. The informative "warm" rounds run each download right after this, to show
    the gap that is left when the page faults are taken out.
    """
    scratch = directory / ".warm-up"
    block = bytes(MIB)
    started = time.perf_counter()
    with scratch.open("wb") as out:
        for _ in range(size // MIB):
            out.write(block)
    scratch.unlink()
    return time.perf_counter() - started


def child(url: str, destination: str, warm: bool) -> None:
    from airflow_provider_kling.operators.download import KlingDownloadOperator

    operator = KlingDownloadOperator(task_id="download", urls=[url], destination=destination)
    operator._directory()  # the destination's ObjectStoragePath machinery is loaded before measuring
    peak_sampled = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak_sampled
        while not stop.is_set():
            peak_sampled = max(peak_sampled, c.rss_bytes())
            stop.wait(0.005)

    if warm:
        warm_page_cache(Path(destination))
    reset = _reset_peak()
    rss0 = c.rss_bytes()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    result = operator.execute({"outlet_events": {}})
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join(timeout=5)
    hwm = c.hwm_bytes()
    c.print_result(
        {
            "seconds": elapsed,
            "bytes": result[0]["bytes"],
            "sha256": result[0]["sha256"],
            "rss_before": rss0,
            "hwm_reset": reset,
            "peak_growth_hwm": hwm - rss0 if reset else None,
            "peak_growth_sampled": peak_sampled - rss0,
        }
    )


def _wait_for_media(emulator: c.Emulator) -> str:
    body = json.dumps({"prompt": "bench download"}).encode()
    request = urllib.request.Request(
        f"{emulator.url}/v1/videos/text2video",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {c.TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        task_id = json.loads(response.read())["data"]["task_id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{emulator.url}/emulator/tasks/{task_id}", timeout=30) as response:
            task = json.loads(response.read())
        if task["task_status"] == "succeed":
            return str(task["task_result"]["videos"][0]["url"])
        time.sleep(0.1)
    raise RuntimeError("the emulated task did not succeed within 30 s")


def _curl(url: str, directory: Path, warm: bool) -> float:
    target = directory / "curl.mp4"
    if warm:
        warm_page_cache(directory)
    started = time.perf_counter()
    subprocess.run(["curl", "-sS", "--fail", "-o", str(target), url], check=True, timeout=600)
    elapsed = time.perf_counter() - started
    size = target.stat().st_size
    target.unlink()
    if size != SIZE:
        raise RuntimeError(f"curl wrote {size} bytes, expected {SIZE}")
    return elapsed


def _operator(url: str, directory: Path, env: dict[str, str], warm: bool) -> dict[str, Any]:
    args = [__file__, "--child", url, str(directory), *(["--warm"] if warm else [])]
    result = c.run_json_child(args, env=env, timeout=900)
    for leftover in directory.iterdir():
        leftover.unlink()
    if result["bytes"] != SIZE:
        raise RuntimeError(f"the operator wrote {result['bytes']} bytes, expected {SIZE}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round instead of three")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--child", nargs=2, metavar=("URL", "DIR"), help=argparse.SUPPRESS)
    parser.add_argument("--warm", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, destination = args.child
        child(url, destination, warm=args.warm)
        return 0
    rounds = args.rounds or (1 if args.quick or c.quick_mode() else 3)
    c.header("download")
    if shutil.which("curl") is None:
        print("curl not found (apt-get install -y curl); download benchmark skipped: MISS")
        return 0
    free = shutil.disk_usage(tempfile.gettempdir()).free
    if free < 3 * SIZE:
        print(f"only {free / 2**30:.1f} GiB free in {tempfile.gettempdir()}; need 3 GiB: skipped, MISS")
        return 0
    curl_seconds: dict[bool, list[float]] = {True: [], False: []}
    operator_runs: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    with (
        c.airflow_home() as env,
        c.emulator_process(task_duration=0.2, submitted_seconds=0.1, media_size=SIZE) as emulator,
        tempfile.TemporaryDirectory(prefix="kling-bench-download-") as tmp,
    ):
        url = _wait_for_media(emulator)
        directory = Path(tmp)
        for _ in range(rounds):
            for warm in (False, True):
                curl_seconds[warm].append(_curl(url, directory, warm))
                operator_runs[warm].append(_operator(url, directory, env, warm))
                run = operator_runs[warm][-1]
                print(
                    f"  {'warm' if warm else 'cold'} pages:"
                    f" curl {SIZE / MIB / curl_seconds[warm][-1]:.0f} MiB/s"
                    f"  operator {SIZE / MIB / run['seconds']:.0f} MiB/s"
                    f" (peak RSS +{(run['peak_growth_hwm'] or 0) / MIB:.1f} MiB)  load {c.loadavg()}",
                    flush=True,
                )
    rates = {
        warm: (
            SIZE / c.median(curl_seconds[warm]),
            SIZE / c.median([r["seconds"] for r in operator_runs[warm]]),
        )
        for warm in (True, False)
    }
    runs = operator_runs[True] + operator_runs[False]
    growth = [r["peak_growth_hwm"] for r in runs if r["peak_growth_hwm"] is not None]
    sampled = max(r["peak_growth_sampled"] for r in runs)
    worst = max(growth) if growth else sampled
    curl_rate, operator_rate = rates[False]
    ratio = operator_rate / curl_rate
    warm_curl, warm_operator = rates[True]
    print()
    print("-- results (ratios first)")
    print(
        f"throughput_ratio={ratio:.2f} (target >= 0.8) {c.verdict(ratio >= 0.8)}"
        f"  [operator {operator_rate / MIB:.0f} MiB/s vs curl {curl_rate / MIB:.0f} MiB/s, 1 GiB, median of"
        f" {rounds}, one right after the other]"
    )
    print(
        f"throughput_ratio_warm={warm_operator / warm_curl:.2f} (informative)"
        f"  [operator {warm_operator / MIB:.0f} MiB/s vs curl {warm_curl / MIB:.0f} MiB/s, each right after"
        " writing and deleting 1 GiB in 1 MiB writes, which spares 1 MiB writes the page faults; see"
        " warm_page_cache]"
    )
    print(
        f"peak_rss_growth={worst / MIB:.1f}MiB (target <= 64 MiB) {c.verdict(worst <= 64 * MIB)}"
        f"  [worst of {len(runs)}; {'VmHWM after reset' if growth else 'sampled VmRSS'};"
        f" sampled VmRSS peak +{sampled / MIB:.1f} MiB]"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

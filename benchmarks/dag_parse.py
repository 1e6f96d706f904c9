"""DAG-parse cost: what using this provider adds to parsing a DAG file.

1. Import time. Two DAG files with the same shape (nine tasks, the same dependencies): one uses every
   operator of the provider and the sensor, the other only ``EmptyOperator``s. Each is imported in fresh
   processes under ``python -X importtime`` (alternating, ``--runs`` each, default 12), and the DAG
   module's cumulative import time is read from the report. Two set-ups:

   * warm: ``from airflow.sdk import DAG, BaseOperator`` first, as a DAG processor has them loaded before it
     parses a file; the DAG module's time is then what the file itself costs (the target applies here);
   * cold: nothing imported first (Airflow's own import, ~1-3 s, is in both, so this is noisier).

   The figure is the difference of the medians; the largest modules only the provider's DAG imports are
   listed.
2. Build time. In one process: ``with DAG(...)`` around 1,000 ``KlingTextToVideoOperator``s vs 1,000
   ``EmptyOperator``s (and, for information, 1,000 operators cycling through every provider class), median
   of ``--repeats`` (default 9) alternating rounds.

Run: ``.venv/bin/python benchmarks/dag_parse.py [--quick]``.
"""

from __future__ import annotations

import argparse
import gc
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _common as c

KLING_DAG = """
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_kling.operators.download import KlingDownloadOperator
from airflow_provider_kling.operators.kling import (
    KlingCreateTaskOperator,
    KlingExtendVideoOperator,
    KlingImageGenerationOperator,
    KlingImageToVideoOperator,
    KlingMultiImageToVideoOperator,
    KlingTextToVideoOperator,
    KlingVirtualTryOnOperator,
)
from airflow_provider_kling.sensors.kling import KlingTaskSensor

IMAGE = "https://example.com/cat.jpg"

with DAG("bench_kling", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    t2v = KlingTextToVideoOperator(
        task_id="t2v", prompt="A paper boat", model_name="kling-v2-6", duration=5, aspect_ratio="16:9"
    )
    i2v = KlingImageToVideoOperator(task_id="i2v", image=IMAGE, prompt="The cat blinks", duration="5")
    multi = KlingMultiImageToVideoOperator(task_id="multi", image_list=[IMAGE, IMAGE], prompt="Two cats")
    extend = KlingExtendVideoOperator(
        task_id="extend", video_id="{{ ti.xcom_pull(task_ids='t2v', key='kling_task')['task_id'] }}"
    )
    images = KlingImageGenerationOperator(task_id="images", prompt="A studio photo", n=2, aspect_ratio="3:4")
    try_on = KlingVirtualTryOnOperator(task_id="try_on", human_image=IMAGE, cloth_image=IMAGE)
    create = KlingCreateTaskOperator(
        task_id="create", task_type="text2video", payload={"prompt": "A fox"}, wait_for_completion=False
    )
    wait = KlingTaskSensor(task_id="wait", kling_task_id=create.output, task_type="text2video")
    download = KlingDownloadOperator(task_id="download", urls=t2v.output, destination="/tmp/kling-bench")
    t2v >> extend
    images >> try_on
    [i2v, multi] >> wait
"""

PLAIN_DAG = """
from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG("bench_plain", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    t2v = EmptyOperator(task_id="t2v")
    i2v = EmptyOperator(task_id="i2v")
    multi = EmptyOperator(task_id="multi")
    extend = EmptyOperator(task_id="extend")
    images = EmptyOperator(task_id="images")
    try_on = EmptyOperator(task_id="try_on")
    create = EmptyOperator(task_id="create")
    wait = EmptyOperator(task_id="wait")
    download = EmptyOperator(task_id="download")
    t2v >> extend
    images >> try_on
    create >> wait
    t2v >> download
    [i2v, multi] >> wait
"""

WARM = "from airflow.sdk import DAG, BaseOperator"
_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|\s*(\S+)")


def _importtime(
    directory: Path, module: str, preamble: str, env: dict[str, str]
) -> tuple[int, dict[str, int]]:
    """The module's cumulative import time (us) in a fresh process, and every module's self time."""
    code = f"import sys; sys.path.insert(0, {str(directory)!r}); {preamble}; import {module}"
    result = subprocess.run(
        [c.PYTHON, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=directory,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"importing {module} failed:\n{result.stderr[-3000:]}")
    own, cumulative = {}, None
    for line in result.stderr.splitlines():
        match = _LINE.match(line)
        if match:
            own[match.group(3)] = int(match.group(1))
            if match.group(3) == module:
                cumulative = int(match.group(2))
    if cumulative is None:
        raise RuntimeError(f"no importtime line for {module}")
    return cumulative, own


def measure_imports(runs: int, env: dict[str, str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="kling-bench-dags-") as tmp:
        directory = Path(tmp)
        (directory / "bench_dag_kling.py").write_text(textwrap.dedent(KLING_DAG))
        (directory / "bench_dag_plain.py").write_text(textwrap.dedent(PLAIN_DAG))
        out: dict[str, Any] = {}
        for setup, preamble in (("warm", WARM), ("cold", "pass")):
            times: dict[str, list[int]] = {"kling": [], "plain": []}
            modules: dict[str, dict[str, list[int]]] = {"kling": {}, "plain": {}}
            for _ in range(runs):
                for kind in ("kling", "plain"):
                    cumulative, own = _importtime(directory, f"bench_dag_{kind}", preamble, env)
                    times[kind].append(cumulative)
                    for name, us in own.items():
                        modules[kind].setdefault(name, []).append(us)
            only_kling = {
                name: statistics.median(values)
                for name, values in modules["kling"].items()
                if name not in modules["plain"]
            }
            out[setup] = {
                "kling_ms": c.median(times["kling"]) / 1000,
                "plain_ms": c.median(times["plain"]) / 1000,
                "kling_all_ms": [t / 1000 for t in times["kling"]],
                "plain_all_ms": [t / 1000 for t in times["plain"]],
                "extra_modules": len(only_kling),
                "top_extra": sorted(only_kling.items(), key=lambda item: -item[1])[:8],
            }
            out[setup]["delta_ms"] = out[setup]["kling_ms"] - out[setup]["plain_ms"]
    return out


def measure_build(repeats: int, count: int = 1000) -> dict[str, float]:
    from datetime import datetime

    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    from airflow_provider_kling.operators.download import KlingDownloadOperator
    from airflow_provider_kling.operators.kling import (
        KlingCreateTaskOperator,
        KlingExtendVideoOperator,
        KlingImageGenerationOperator,
        KlingImageToVideoOperator,
        KlingMultiImageToVideoOperator,
        KlingTextToVideoOperator,
        KlingVirtualTryOnOperator,
    )
    from airflow_provider_kling.sensors.kling import KlingTaskSensor

    image = "https://example.com/cat.jpg"
    makers: list[Callable[[str], Any]] = [
        lambda t: KlingTextToVideoOperator(task_id=t, prompt="A paper boat", duration=5, aspect_ratio="16:9"),
        lambda t: KlingImageToVideoOperator(task_id=t, image=image, prompt="The cat blinks"),
        lambda t: KlingMultiImageToVideoOperator(task_id=t, image_list=[image, image], prompt="Two cats"),
        lambda t: KlingExtendVideoOperator(task_id=t, video_id="{{ ti.xcom_pull(task_ids='a') }}"),
        lambda t: KlingImageGenerationOperator(task_id=t, prompt="A studio photo", n=2),
        lambda t: KlingVirtualTryOnOperator(task_id=t, human_image=image, cloth_image=image),
        lambda t: KlingCreateTaskOperator(task_id=t, task_type="text2video", payload={"prompt": "A fox"}),
        lambda t: KlingTaskSensor(task_id=t, kling_task_id="{{ ti.xcom_pull(task_ids='a') }}"),
        lambda t: KlingDownloadOperator(task_id=t, urls=[image], destination="/tmp/kling-bench"),
    ]

    def build(kind: str) -> float:
        gc.collect()
        started = time.perf_counter()
        with DAG(f"bench_{kind}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
            for i in range(count):
                task_id = f"t{i}"
                if kind == "empty":
                    EmptyOperator(task_id=task_id)
                elif kind == "t2v":
                    makers[0](task_id)
                else:
                    makers[i % len(makers)](task_id)
        return time.perf_counter() - started

    for kind in ("empty", "t2v", "mixed"):  # warm-up: first-use costs (imports, caches) are not building
        build(kind)
    times: dict[str, list[float]] = {"empty": [], "t2v": [], "mixed": []}
    for _ in range(repeats):
        for kind, values in times.items():
            values.append(build(kind))
    return {kind: c.median(values) for kind, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 processes and 5 rounds")
    parser.add_argument("--runs", type=int, help="fresh processes per DAG file and set-up (default 12)")
    parser.add_argument("--repeats", type=int, help="build rounds (default 9)")
    args = parser.parse_args()
    quick = args.quick or c.quick_mode()
    runs = args.runs or (5 if quick else 12)
    repeats = args.repeats or (5 if quick else 9)
    c.header("dag_parse")
    with c.airflow_home() as airflow_env:
        import os

        env = {**os.environ, **airflow_env}
        os.environ.update(airflow_env)
        imports = measure_imports(runs, env)
        build = measure_build(repeats)
    warm, cold = imports["warm"], imports["cold"]
    build_ratio = build["t2v"] / build["empty"]
    print()
    print("-- results (ratios first)")
    print(
        f"build_ratio_1000={build_ratio:.2f} (target <= 2) {c.verdict(build_ratio <= 2)}"
        f"  [1,000 KlingTextToVideoOperator {build['t2v'] * 1000:.0f} ms vs 1,000 EmptyOperator"
        f" {build['empty'] * 1000:.0f} ms, median of {repeats}]"
    )
    print(
        f"build_ratio_1000_mixed={build['mixed'] / build['empty']:.2f} (informative)"
        f"  [1,000 operators cycling through all 9 provider classes: {build['mixed'] * 1000:.0f} ms]"
    )
    print(
        f"import_delta_warm={warm['delta_ms']:+.1f}ms (target <= +30 ms) {c.verdict(warm['delta_ms'] <= 30)}"
        f"  [provider DAG {warm['kling_ms']:.1f} ms vs EmptyOperator DAG {warm['plain_ms']:.1f} ms,"
        f" airflow.sdk loaded first, median of {runs} processes each]"
    )
    print(
        f"import_delta_cold={cold['delta_ms']:+.1f}ms (informative, noisier)"
        f"  [provider DAG {cold['kling_ms']:.0f} ms vs EmptyOperator DAG {cold['plain_ms']:.0f} ms,"
        f" nothing loaded first, median of {runs} processes each]"
    )
    print()
    print(f"modules only the provider DAG imports (warm): {warm['extra_modules']}; largest self times (us):")
    for name, us in warm["top_extra"]:
        print(f"  {us:>8.0f}  {name}")
    print("warm import times (ms), provider:", " ".join(f"{t:.0f}" for t in warm["kling_all_ms"]))
    print("warm import times (ms), plain:   ", " ".join(f"{t:.0f}" for t in warm["plain_all_ms"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The figures each scenario reports, from what Kling (the emulator), Airflow's REST API and the workers saw.

* **Kling tasks and duplicates**: every task of the type in Kling's own list, attributed to the map index
  whose tries derive its ``external_task_id``; a map index with more than one Kling task is a duplicate.
* **Requests per task**: every API request the emulator answered (faults and lookups included) over the
  number of generations; and per generation, the create attempts and queries that name its own ids.
* **Delay**: from the moment Kling finished a generation (``updated_at`` of the succeeded task) to the end of
  the Airflow task that reported it (its ``end_date``): detection, the resumption on a worker, the database.
* **Worker-slot seconds per generation**: the time Celery's slots spent on the run's Kling tasks (every try
  and every resumption, as each worker logged it) over the number of generations.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tests.e2e.deployment import AirflowApi, EmulatorProcess
from tests.e2e.distributed.topology import WorkerRun
from tests.e2e.helpers import external_id

#: Tries whose external ids are looked for (the DAGs allow at most three retries).
MAX_TRIES = 4


@dataclass
class Generations:
    """One run's mapped Kling tasks as Airflow and Kling see them."""

    dag_id: str
    run_id: str
    task_instances: dict[int, dict[str, Any]]  # map index -> the REST API's task instance
    kling_tasks: dict[int, list[dict[str, Any]]]  # map index -> its Kling tasks (more than one: duplicates)
    stats: dict[str, Any]

    @property
    def duplicates(self) -> int:
        return sum(len(tasks) - 1 for tasks in self.kling_tasks.values() if len(tasks) > 1)

    def tries(self) -> dict[int, int]:
        return dict(sorted(Counter(ti["try_number"] for ti in self.task_instances.values()).items()))

    def requests_per_generation(self) -> list[int]:
        """Create attempts and queries naming each generation's ids (its task id or a try's external id)."""
        counts = []
        for index in self.task_instances:
            ids = [
                external_id(self.dag_id, "generate", self.run_id, index, n) for n in range(1, MAX_TRIES + 1)
            ]
            creates = sum(self.stats["creates_by_external_id"].get(i, 0) for i in ids)
            queries = sum(self.stats["queries_by_task"].get(t["task_id"], 0) for t in self.kling_tasks[index])
            counts.append(creates + queries)
        return counts

    def delays(self) -> list[float]:
        """Seconds from Kling's end of each succeeded generation to its Airflow task's end."""
        out = []
        for index, ti in self.task_instances.items():
            (task,) = self.kling_tasks[index]
            end = datetime.fromisoformat(ti["end_date"]).timestamp()
            out.append(end - task["updated_at"] / 1000)
        return out


def collect(api: AirflowApi, kling: EmulatorProcess, dag_id: str, run_id: str, count: int) -> Generations:
    """Read one run's generations back (turns the emulator's faults off first: the list must answer)."""
    stats = kling.stats()
    kling.configure(faults={}, concurrency_limit=None)
    tis = {ti["map_index"]: ti for ti in api.task_instances(dag_id, run_id) if ti["task_id"] == "generate"}
    index_of = {
        external_id(dag_id, "generate", run_id, index, n): index
        for index in range(count)
        for n in range(1, MAX_TRIES + 1)
    }
    kling_tasks: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for task in kling.list_tasks("videos", "text2video"):
        kling_tasks[index_of[task["task_info"]["external_task_id"]]].append(task)
    return Generations(dag_id, run_id, tis, dict(kling_tasks), stats)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p99 of 200 values is the second largest)."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


def summary(generations: Generations, runs: list[WorkerRun]) -> dict[str, Any]:
    """The figures every generation scenario reports."""
    count = len(generations.task_instances)
    stats = generations.stats
    per_generation = generations.requests_per_generation()
    delays = generations.delays()
    slots = [
        run.seconds
        for run in runs
        if (run.dag_id, run.run_id, run.task_id) == (generations.dag_id, generations.run_id, "generate")
    ]
    return {
        "tasks": count,
        "kling_creates": stats["creates"],
        "kling_tasks": sum(len(tasks) for tasks in generations.kling_tasks.values()),
        "duplicates": generations.duplicates,
        "create_attempts": stats["create_attempts"],
        "requests_per_task": round(stats["requests_total"] / count, 2),
        "requests_per_task_own_ids_median": statistics.median(per_generation),
        "requests_per_task_own_ids_max": max(per_generation),
        "delay_p50_s": round(percentile(delays, 0.5), 1),
        "delay_p99_s": round(percentile(delays, 0.99), 1),
        "delay_max_s": round(max(delays), 1),
        "worker_runs": len(slots),
        "worker_slot_s_per_generation": round(sum(slots) / count, 2),
        "worker_run_s_median": round(statistics.median(slots), 2) if slots else None,
        "airflow_tries": generations.tries(),
        "answers_by_code": stats["answers_by_code"],
        "faults_injected": stats["faults_injected"],
    }

"""The production topology on one machine: Airflow 3, CeleryExecutor, PostgreSQL, Redis and HA triggerers.

``DistributedDeployment`` extends the e2e harness (``tests.e2e.deployment.AirflowDeployment``): the same
scheduler, dag-processor and api-server processes, plus a second triggerer and two Celery workers, against a
PostgreSQL metadata database and a Redis broker (``services.py``). Every process has its own process group,
so a test can SIGKILL one component with all its children (a Celery worker with its pool and task processes).

A *restart policy* thread plays systemd's ``Restart=always`` (or Kubernetes'): a component that exits on its
own (e.g. the scheduler giving up while PostgreSQL restarts) is started again after a second and counted.
Components a test stops or kills on purpose are held down until the test brings them back.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.e2e.deployment import ROOT, AirflowDeployment, Process
from tests.e2e.distributed.services import Binaries, PostgresServer, RedisServer

DAGS_FOLDER = Path(__file__).resolve().parent / "dags"
TRIGGERERS = ("triggerer", "triggerer-2")
WORKERS = ("celery-worker-1", "celery-worker-2")
#: Task processes per Celery worker: four slots on a 2-core machine, far fewer than the waits.
WORKER_CONCURRENCY = 2
#: Seconds without a heartbeat after which a triggerer's triggers go to another one (Airflow's default: 30).
TRIGGERER_HEALTH_CHECK_THRESHOLD = 10
#: Seconds without a heartbeat after which a running task counts as lost (Airflow's default: 300).
TASK_HEARTBEAT_TIMEOUT = 20
#: Seconds a task may stay queued before the scheduler queues it again (Airflow's default: 600). A Celery
#: task received while the database (Celery's result backend) is down fails before it starts and is lost.
TASK_QUEUED_TIMEOUT = 60
#: How often a scheduler adopts the queued tasks of a scheduler that died (Airflow's default: 300 s), and how
#: long a silent scheduler counts as alive (default: 30 s). A scheduler that exits when PostgreSQL restarts
#: leaves its queued tasks to its successor, which sees them only at its next adoption after the threshold:
#: with the defaults, lost Celery tasks wait about five minutes before the queued timeout applies to them.
ORPHANED_TASKS_CHECK_INTERVAL = 15
SCHEDULER_HEALTH_CHECK_THRESHOLD = 15
RESTART_POLICY_DELAY = 1.0

# Celery's line for each task a worker finished, and the workload line naming the task instance it ran.
_FINISHED = re.compile(
    r"Task \S*execute_workload\[(?P<id>[0-9a-f-]{36})\] (?:succeeded|raised|failed)\S* in (?P<s>[0-9.]+)s"
)
_WORKLOAD = re.compile(
    r"\[(?P<id>[0-9a-f-]{36})\] Executing workload in Celery: .*? log_path='dag_id=(?P<dag>[^/]+)/"
    r"run_id=(?P<run>[^/]+)/task_id=(?P<task>[^/]+)/(?:map_index=(?P<map>-?\d+)/)?attempt=(?P<try>\d+)\.log'"
)


@dataclass(frozen=True)
class WorkerRun:
    """One Celery task: a worker slot held for ``seconds`` by one try (or one resumption) of a task."""

    worker: str
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    seconds: float


class DistributedDeployment(AirflowDeployment):
    """Scheduler, dag-processor, api-server, two triggerers and two Celery workers on PostgreSQL and Redis."""

    def __init__(self, home: Path, extra_env: dict[str, str], binaries: Binaries) -> None:
        self.log_dir = home / "process-logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.postgres = PostgresServer(binaries, self.log_dir)
        self.redis = RedisServer(binaries, self.log_dir)
        env = {
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__PARALLELISM": "32",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.postgres.url,
            "AIRFLOW__CELERY__BROKER_URL": self.redis.url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.postgres.url,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
            "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "tests.e2e.distributed.celery_config.CELERY_CONFIG",
            "PYTHONPATH": str(ROOT),
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": str(TRIGGERER_HEALTH_CHECK_THRESHOLD),
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(TASK_HEARTBEAT_TIMEOUT),
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": str(TASK_QUEUED_TIMEOUT),
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL": "10",
            "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": str(ORPHANED_TASKS_CHECK_INTERVAL),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": str(SCHEDULER_HEALTH_CHECK_THRESHOLD),
            # A task supervisor notices its task process's exit only when it next wakes up, at most this
            # often (default 5 s): every submit and every resumption would hold its worker slot that much
            # longer than the task itself ran.
            "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
            **extra_env,
        }
        super().__init__(home, env)
        airflow = self.components["triggerer"].argv[:-2]  # [python, -m, airflow]
        self.components["triggerer-2"] = Process(
            "triggerer-2", self.components["triggerer"].argv, self.env, self.log_dir, home
        )
        for index, name in enumerate(WORKERS, start=1):
            argv = [*airflow, "celery", "worker", "--skip-serve-logs", "--without-mingle", "--without-gossip"]
            argv += ["--celery-hostname", f"worker{index}@%h", "--pid", str(home / f"{name}.pid")]
            self.components[name] = Process(name, argv, self.env, self.log_dir, home)
        self._held_down: set[str] = set()
        self.policy_restarts: dict[str, int] = {}
        self._policy_stop = threading.Event()
        self._policy = threading.Thread(target=self._restart_policy, name="restart-policy", daemon=True)

    # -- lifecycle ----------------------------------------------------------------------------------------

    def start(self, dag_ids: Iterable[str], timeout: float = 240) -> DistributedDeployment:
        self.postgres.start()
        self.redis.start()
        super().start(dag_ids, timeout)
        self._policy.start()
        return self

    def stop(self) -> None:
        self._policy_stop.set()
        if self._policy.is_alive():
            self._policy.join(timeout=5)
        try:
            super().stop()
        finally:
            self.redis.stop()
            self.postgres.stop()

    def _restart_policy(self) -> None:
        while not self._policy_stop.wait(RESTART_POLICY_DELAY):
            for name, component in self.components.items():
                if name not in self._held_down and component.popen is not None and not component.alive():
                    if self._policy_stop.is_set():
                        return
                    self.policy_restarts[name] = self.policy_restarts.get(name, 0) + 1
                    component.start()

    def crash(self, name: str) -> None:
        """SIGKILL a component's whole process group and keep it down until ``bring_back``."""
        self._held_down.add(name)
        self.components[name].crash()

    def take_down(self, *names: str) -> None:
        """Clean stops (SIGTERM to all at once, SIGKILL after a grace), kept down until ``bring_back``."""
        self._held_down.update(names)
        for name in names:
            self.components[name].kill_group(signal.SIGTERM)
        for name in names:
            self.components[name].stop()

    def bring_back(self, name: str) -> None:
        self.components[name].start()
        self._held_down.discard(name)

    # -- metadata database --------------------------------------------------------------------------------

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return self.postgres.query(sql.replace("?", "%s"), *params)

    def alive_triggerer_jobs(self) -> list[int]:
        rows = self.query(
            "SELECT id FROM job WHERE job_type = 'TriggererJob' AND end_date IS NULL "
            "AND latest_heartbeat > now() - make_interval(secs => ?) ORDER BY id",
            TRIGGERER_HEALTH_CHECK_THRESHOLD,
        )
        return [row[0] for row in rows]

    def triggers_by_triggerer(self, dag_id: str, run_id: str) -> dict[int | None, int]:
        """How many of a run's deferred tasks each triggerer job holds (``None``: not assigned yet)."""
        rows = self.query(
            "SELECT t.triggerer_id, count(*) FROM task_instance ti JOIN trigger t ON t.id = ti.trigger_id "
            "WHERE ti.dag_id = ? AND ti.run_id = ? AND ti.state = 'deferred' GROUP BY t.triggerer_id",
            dag_id,
            run_id,
        )
        return {triggerer: count for triggerer, count in rows}

    def trigger_deadlines(self, dag_id: str, run_id: str) -> dict[str, float]:
        """The absolute ``deadline`` in the stored trigger kwargs of each deferred task of a run."""
        rows = self.query(
            "SELECT ti.task_id, ti.trigger_id FROM task_instance ti WHERE ti.dag_id = ? AND ti.run_id = ? "
            "AND ti.trigger_id IS NOT NULL",
            dag_id,
            run_id,
        )
        kwargs = self.trigger_kwargs()
        return {
            task_id: float(_find(json.loads(kwargs[trigger_id]), "deadline")) for task_id, trigger_id in rows
        }

    def trigger_log(self, dag_id: str, run_id: str, task_id: str) -> list[tuple[float, str]]:
        """``(epoch seconds, message)`` of each line the triggerers logged for a task's first try, sorted."""
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        lines = []
        for part in folder.glob("attempt=1.log.trigger.*.log"):
            for line in part.read_text().splitlines():
                entry = json.loads(line)
                lines.append((datetime.fromisoformat(entry["timestamp"]).timestamp(), str(entry["event"])))
        return sorted(lines)

    def worker_of(self, pid: int) -> str:
        """The Celery worker running process ``pid`` (a task process forked by one of its pool processes)."""
        import psutil

        ancestors = {parent.pid for parent in psutil.Process(pid).parents()}
        return next(
            name
            for name in WORKERS
            if self.components[name].alive() and self.components[name].pid in ancestors
        )

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by each live component's process group, reaped children included (Linux)."""
        ticks = os.sysconf("SC_CLK_TCK")
        groups = {c.pid: name for name, c in self.components.items() if c.alive()}
        groups.update(
            {s.process.pid: s.process.name for s in (self.postgres, self.redis) if s.process.alive()}
        )
        used = dict.fromkeys(groups.values(), 0.0)
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended meanwhile
            if int(fields[2]) in groups:  # pgrp; then utime, stime, cutime, cstime at 11-14
                used[groups[int(fields[2])]] += sum(int(value) for value in fields[11:15]) / ticks
        return {name: round(seconds, 1) for name, seconds in sorted(used.items())}

    # -- worker slots -------------------------------------------------------------------------------------

    def worker_runs(self) -> list[WorkerRun]:
        """Every Celery task the workers finished (from their logs), with the slot time Celery measured."""
        runs: list[WorkerRun] = []
        for name in WORKERS:
            log = self.components[name].log_path
            text = log.read_text(errors="replace") if log.exists() else ""
            workloads = {match["id"]: match for match in _WORKLOAD.finditer(text)}
            for finished in _FINISHED.finditer(text):
                ti = workloads.get(finished["id"])
                if ti is not None:
                    map_index, try_number = int(ti["map"] or -1), int(ti["try"])
                    runs.append(
                        WorkerRun(
                            name,
                            ti["dag"],
                            ti["run"],
                            ti["task"],
                            map_index,
                            try_number,
                            float(finished["s"]),
                        )
                    )
        return runs


def _find(value: Any, key: str) -> Any:
    """The first ``key`` anywhere in a decoded JSON document (Airflow wraps serialized kwargs)."""
    if isinstance(value, dict):
        if key in value:
            return value[key]
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            found = _find(item, key)
            if found is not None:
                return found
    return None

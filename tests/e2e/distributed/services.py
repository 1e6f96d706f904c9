"""PostgreSQL and Redis from Debian's packages, run by the suite as its own processes on loopback.

``find_or_install()`` locates ``postgres``/``initdb`` and ``redis-server``; when one is missing it installs
the Debian packages (``postgresql``, ``redis-server``) as root through apt, and otherwise returns the reason
the suite must be skipped. The servers never touch the machine's own clusters or services: a throw-away data
directory, a free port, each in its own process group (``tests.e2e.deployment.Process``), stopped by the
suite. PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` user the package creates.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.deployment import LOOPBACK, ROOT, Process, free_port, wait_for

DEBIAN_PACKAGES = ("postgresql", "redis-server")
DATABASE = "airflow"


@dataclass(frozen=True)
class Binaries:
    postgres_bin: Path  # the folder holding postgres and initdb
    redis_server: Path


def _locate() -> Binaries | None:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parts[-3]))
    redis = shutil.which("redis-server")
    if not versions or redis is None:
        return None
    return Binaries(versions[-1].parent, Path(redis))


def find_or_install() -> Binaries | str:
    """The server binaries, installing Debian's packages as root if needed; else why the suite is skipped."""
    found = _locate()
    if found is not None:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return (
            "PostgreSQL and redis-server are not installed, and only root with apt-get can install them "
            f"(apt-get install {' '.join(DEBIAN_PACKAGES)})"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *DEBIAN_PACKAGES]):
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            return f"{' '.join(argv)} failed: {done.stderr.strip()[-500:]}"
    # The packages start the machine's own services; the suite runs its own servers, so stop those.
    for service in ("postgresql", "redis-server"):
        subprocess.run(["service", service, "stop"], capture_output=True, timeout=60, check=False)
    return _locate() or "apt-get installed the packages, but postgres or redis-server is still missing"


def _as_postgres_user(argv: list[str]) -> list[str]:
    """PostgreSQL will not run as root: drop to the package's ``postgres`` user (exec, no extra process)."""
    if os.geteuid() != 0:
        return argv
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *argv]


class PostgresServer:
    """A private PostgreSQL cluster (trust auth on 127.0.0.1) holding one ``airflow`` database."""

    def __init__(self, binaries: Binaries, log_dir: Path) -> None:
        self.port = free_port()
        self.data_dir = Path(tempfile.mkdtemp(prefix="kling-distributed-pg-"))
        self.socket_dir = self.data_dir / "socket"
        self.socket_dir.mkdir()
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            for folder in (self.data_dir, self.socket_dir):
                os.chown(folder, user.pw_uid, user.pw_gid)
        self.bin = binaries.postgres_bin
        self.log_dir = log_dir
        self.url = f"postgresql+psycopg2://postgres@{LOOPBACK}:{self.port}/{DATABASE}"
        # Durability is not under test (a restart is a clean or fast shutdown, never a power cut): fsync off.
        argv = [
            str(self.bin / "postgres"),
            *("-D", str(self.data_dir / "data"), "-p", str(self.port), "-h", LOOPBACK),
            *("-k", str(self.socket_dir)),
            *("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"),
            *("-c", "max_connections=300", "-c", "shared_buffers=256MB"),
        ]
        self.process = Process("postgresql", _as_postgres_user(argv), {**os.environ}, log_dir, ROOT)

    def start(self) -> PostgresServer:
        if not (self.data_dir / "data").exists():
            initdb = [str(self.bin / "initdb"), "-D", str(self.data_dir / "data"), "-U", "postgres"]
            initdb += ["--auth=trust", "-E", "UTF8", "--no-sync"]
            done = subprocess.run(
                _as_postgres_user(initdb), capture_output=True, text=True, timeout=120, check=False
            )
            (self.log_dir / "initdb.log").write_text(done.stdout + done.stderr)
            assert done.returncode == 0, f"initdb failed:\n{done.stderr[-2000:]}"
            self.process.start()
            self._wait_ready()
            self._execute(f"CREATE DATABASE {DATABASE}", database="postgres")
        else:
            self.process.start()
            self._wait_ready()
        return self

    def _connect(self, database: str = DATABASE):  # type: ignore[no-untyped-def]
        import psycopg2

        return psycopg2.connect(
            host=LOOPBACK, port=self.port, user="postgres", dbname=database, connect_timeout=5
        )

    def _execute(self, sql: str, database: str = DATABASE) -> None:
        connection = self._connect(database)
        connection.autocommit = True
        try:
            connection.cursor().execute(sql)
        finally:
            connection.close()

    def ready(self) -> bool:
        import psycopg2

        try:
            self._connect("postgres").close()
        except psycopg2.OperationalError:
            return False
        return True

    def _wait_ready(self) -> None:
        wait_for("PostgreSQL to accept connections", self.ready, 60, 0.2, self.process.tail)

    def query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        connection = self._connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return list(cursor.fetchall())
        finally:
            connection.close()

    def restart(self, down_seconds: float) -> float:
        """Fast shutdown (every session is cut), stay down, start again; returns the seconds it was down."""
        stopped = time.monotonic()
        self.process.kill_group(signal.SIGINT)  # PostgreSQL's "fast" shutdown
        assert self.process.popen is not None
        self.process.popen.wait(timeout=60)
        time.sleep(down_seconds)
        self.process.start()
        self._wait_ready()
        return time.monotonic() - stopped

    def stop(self) -> None:
        self.process.kill_group(signal.SIGINT)
        self.process.stop(grace=15)
        shutil.rmtree(self.data_dir, ignore_errors=True)


class RedisServer:
    """Celery's broker: an in-memory Redis on 127.0.0.1 (no snapshots)."""

    def __init__(self, binaries: Binaries, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://{LOOPBACK}:{self.port}/0"
        argv = [str(binaries.redis_server), "--bind", LOOPBACK, "--port", str(self.port)]
        argv += ["--save", "", "--appendonly", "no", "--protected-mode", "yes"]
        self.process = Process("redis", argv, {**os.environ}, log_dir, ROOT)

    def ready(self) -> bool:
        import redis

        with contextlib.suppress(redis.RedisError):
            return bool(redis.Redis(host=LOOPBACK, port=self.port, socket_timeout=2).ping())
        return False

    def start(self) -> RedisServer:
        self.process.start()
        wait_for("Redis to answer PING", self.ready, 30, 0.1, self.process.tail)
        return self

    def stop(self) -> None:
        self.process.stop(grace=5)

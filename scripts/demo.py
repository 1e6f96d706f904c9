"""``make demo``: run ``example_kling_text_to_video`` end to end and print what it produced.

By default everything is local: the Kling emulator starts on a free loopback port, a throwaway
``AIRFLOW_HOME`` with SQLite is created under ``.demo/``, and ``airflow dags test`` runs the example DAG.
With ``KLING_API_TOKEN`` set (and optionally ``KLING_BASE_URL``, e.g. a gateway's ``https://<gateway>/kling``)
the same DAG runs against the real service instead. Airflow's logs go to ``.demo/demo.log``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

from airflow_provider_kling.testing import DEFAULT_TOKEN, EmulatorConfig, EmulatorServer

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = ROOT / ".demo"
DAG_ID = "example_kling_text_to_video"


def _airflow(args: list[str], env: dict[str, str], log: IO[str]) -> int:
    return subprocess.run(
        [sys.executable, "-m", "airflow", *args], env=env, stdout=log, stderr=subprocess.STDOUT, check=False
    ).returncode


def _manifest(media: Path, since: float) -> dict | None:
    found = [p for p in media.glob(f"{DAG_ID}/*/manifest.json") if p.stat().st_mtime >= since]
    return json.loads(max(found, key=lambda p: p.stat().st_mtime).read_text()) if found else None


def main() -> int:
    started = time.time()
    DEMO_DIR.mkdir(exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="airflow-home-", dir=DEMO_DIR))
    media = DEMO_DIR / "media"
    log_path = DEMO_DIR / "demo.log"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # The setting the README recommends: generations wait in the triggerer, holding no worker slot.
        "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "KLING_MEDIA_DIR": str(media),
    }
    server = None
    token = os.environ.get("KLING_API_TOKEN")
    if token:
        connection = {"conn_type": "kling", "host": os.environ.get("KLING_BASE_URL", ""), "password": token}
        target = f"Kling at {connection['host'] or 'https://api-singapore.klingai.com'}"
    else:
        server = EmulatorServer(EmulatorConfig(submitted_seconds=1.0, task_duration=4.0)).start()
        connection = {"conn_type": "kling", "host": server.url, "password": DEFAULT_TOKEN}
        target = f"the Kling emulator at {server.url}"
    env["AIRFLOW_CONN_KLING_DEFAULT"] = json.dumps(connection)
    print(f"Running {DAG_ID} against {target} (Airflow logs: {log_path}) ...", flush=True)
    try:
        with log_path.open("w") as log:
            code = _airflow(["db", "migrate"], env, log) or _airflow(["dags", "test", DAG_ID], env, log)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(home, ignore_errors=True)
    manifest = _manifest(media, started)
    print()
    print(f"DAG run:      {'success' if code == 0 else f'FAILED (exit {code}), see {log_path}'}")
    if manifest:
        print(f"Kling task:   {manifest['kling_task_id']} ({manifest['task_status']})")
        for url in manifest["video_urls"]:
            print(f"Video URL:    {url}")
        for file in manifest["files"]:
            print(f"Downloaded:   {file['path']}")
            print(f"              {file['bytes']} bytes, sha256 {file['sha256']}")
    print(f"Elapsed:      {time.time() - started:.1f} s")
    return code if manifest or code else 1


if __name__ == "__main__":
    sys.exit(main())

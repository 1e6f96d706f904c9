"""Scenario 5: no credential and no Kling JWT anywhere Airflow keeps or shows things, after all the runs.

It runs ``e2e_secrets`` (token and access key / secret key connections, a templated field, the sensor, a
JWT that Kling rejects as expired once, a transient 5000), then scans: every file of the deployment (task
and trigger logs, scheduler / triggerer / dag-processor / api-server output), the whole metadata DB (XCom,
rendered template fields, trigger kwargs decrypted, event log, ...), and the REST API: every response the
suite received plus a sweep of DAGs, runs, task instances (rendered fields), task logs, XCom values, event
logs, connections, pools, variables and jobs. This module runs last, so the sweep covers every scenario.
"""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from tests.e2e.conftest import DAG_IDS, E2E
from tests.e2e.helpers import (
    ACCESS_KEY,
    FORM_ACCESS_KEY,
    FORM_SECRET_KEY,
    SECRET_KEY,
    TOKEN,
    record,
    run_id,
)

DAG_ID = "e2e_secrets"
SECRETS = {
    "token": TOKEN,
    "access key": ACCESS_KEY,
    "secret key": SECRET_KEY,
    "form secret key": FORM_SECRET_KEY,
}
JWT_PATTERN = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")
# Airflow shows a stored connection's login in its connection API and table and in the audit record of
# the form's POST: the form's access key (a login, not a secret to Airflow) is looked for everywhere else.
CONNECTION_LISTINGS = ("GET /api/v2/connections", 'INSERT INTO "connection"')
AUDITED_LOGIN = re.compile(r'\\?"login\\?":\s*\\?"' + re.escape(FORM_ACCESS_KEY) + r'\\?"')


def shows_form_access_key(where: str, text: str) -> bool:
    if FORM_ACCESS_KEY not in text or any(listing in where for listing in CONNECTION_LISTINGS):
        return False
    return FORM_ACCESS_KEY in AUDITED_LOGIN.sub("", text)


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


def is_kling_jwt(token: str) -> bool:
    """Issued for Kling: our access keys as ``iss``, or signed with one of our secret keys."""
    if _claims(token).get("iss") in (ACCESS_KEY, FORM_ACCESS_KEY):
        return True
    for key in (SECRET_KEY, FORM_SECRET_KEY):
        try:
            jwt.decode(
                token, key, algorithms=["HS256"], options={"verify_signature": True, "verify_exp": False}
            )
        except jwt.InvalidTokenError:
            continue
        return True
    return False


def api_sweep(e2e: E2E) -> Iterator[tuple[str, str]]:
    """GET everything the REST API shows about the e2e runs; bodies are recorded by the client."""
    api = e2e.api
    for path in ("/dags", "/connections", "/pools", "/variables", "/jobs", "/importErrors", "/eventLogs"):
        api.request("GET", path, params={"limit": 100})
    for dag_id in DAG_IDS:
        api.request("GET", f"/dags/{dag_id}/details")
        api.request("GET", f"/dags/{dag_id}/tasks")
        for run in api.get(f"/dags/{dag_id}/dagRuns", limit=100)["dag_runs"]:
            run_path = f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}"
            for ti in api.task_instances(dag_id, run["dag_run_id"]):
                ti_path = f"{run_path}/taskInstances/{ti['task_id']}"
                for try_number in range(1, (ti["try_number"] or 0) + 1):
                    api.request("GET", f"{ti_path}/logs/{try_number}", params={"map_index": ti["map_index"]})
                entries = api.get(f"{ti_path}/xcomEntries", map_index=ti["map_index"], limit=100)
                for entry in entries["xcom_entries"]:
                    api.request(
                        "GET", f"{ti_path}/xcomEntries/{entry['key']}", params={"map_index": ti["map_index"]}
                    )
    yield from ((f"API {what}", body) for what, body in api.bodies)


def corpus(e2e: E2E) -> Iterator[tuple[str, str]]:
    """(where, text) for everything to scan."""
    home = e2e.airflow.home
    for path in sorted(home.rglob("*")):
        if path.is_file() and ".db" not in path.name:
            yield f"file {path.relative_to(home)}", path.read_text(errors="replace")
    for line in e2e.airflow.dump_db().splitlines():
        yield f"DB {line[:40]}", line
    for trigger_id, kwargs in e2e.airflow.trigger_kwargs().items():
        yield f"DB trigger {trigger_id} kwargs (decrypted)", kwargs
    yield from api_sweep(e2e)


@pytest.mark.timeout(300)
def test_no_secret_or_jwt_in_logs_db_xcom_or_api(e2e: E2E) -> None:
    api, kling = e2e.api, e2e.kling
    kling.reset(
        task_duration=2, fail_requests=[{"code": 1004, "scope": "create"}, {"code": 5000, "scope": "query"}]
    )
    run = run_id("secrets")
    api.trigger(DAG_ID, run, conf={"prompt": "E2E secrets images from conf"})
    assert api.wait_for_run(DAG_ID, run, timeout=150) == "success"
    stats = kling.stats()
    assert stats["answers_by_code"].get("1004") == 1  # the JWT was rejected once, then re-signed
    assert stats["creates"] == 2
    rendered = {ti["task_id"]: ti["rendered_fields"] for ti in api.task_instances(DAG_ID, run)}
    assert rendered["jwt_submit"]["payload"]["prompt"] == "E2E secrets images from conf"

    leaks: list[str] = []
    jwts: Counter[str] = Counter()
    scanned = Counter[str]()
    for where, text in corpus(e2e):
        scanned[where.split(" ")[0]] += len(text)
        for name, secret in SECRETS.items():
            if secret in text:
                leaks.append(f"{name} in {where}")
        if shows_form_access_key(where, text):
            leaks.append(f"form access key in {where}")
        for token in set(JWT_PATTERN.findall(text)):
            if is_kling_jwt(token):
                leaks.append(f"Kling JWT in {where}")
            else:
                jwts[where] += 1
    assert not leaks, "\n".join(leaks[:50])
    # Airflow's own tokens: none may show up in task logs, XCom, rendered fields or API bodies either.
    assert not jwts, dict(jwts)
    record(
        "5_secrets_scan",
        bytes_scanned=dict(scanned),
        secrets_looked_for=[*SECRETS, "form access key", "any JWT"],
        leaks=len(leaks),
        other_jwts=sum(jwts.values()),
        jwt_rejected_then_resigned=stats["answers_by_code"].get("1004"),
    )

"""What the event-driven scenario (``test_7_event_driven.py``) shares with the deployment and its DAG file.

The ``kling_events`` connection has the callback extras: ``callback_base_url`` is the api-server itself (on
loopback, so the emulator reaches it), and a ``webhook_secret`` the emulator signs its callbacks with.
"""

from __future__ import annotations

import base64
import json

from tests.e2e.helpers import TOKEN

SUBMIT_DAG = "e2e_events_submit"
PUBLISH_DAG = "e2e_events_publish"
SWEEP_DAG = "e2e_events_sweep"
DAG_IDS = (SUBMIT_DAG, PUBLISH_DAG, SWEEP_DAG)
CONN_ID = "kling_events"
ASSET = "e2e_kling_completions"
PROMPTS = 20
CALLBACK_SECRET = "cb-e2e-secret-5d7f9b1c3e5a7c9e1b3d5f7a9c1e3b5d"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"kling-e2e-webhook-signing-key-01").decode()


def events_connection(kling_url: str, airflow_url: str) -> dict[str, str]:
    """The environment entry of the ``kling_events`` connection."""
    conn = {
        "conn_type": "kling",
        "host": kling_url,
        "password": TOKEN,
        "extra": {
            "timeout": 10,
            "callback_base_url": airflow_url,
            "callback_secret": CALLBACK_SECRET,
            "webhook_secret": WEBHOOK_SECRET,
        },
    }
    return {f"AIRFLOW_CONN_{CONN_ID.upper()}": json.dumps(conn)}

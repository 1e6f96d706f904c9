"""The emulator's counters, read by tests through ``GET /emulator/stats``."""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

REQUEST_LOG_SIZE = 2000


class Stats:
    """Counters of everything the emulator was asked.

    ``requests_total``/``http_status``/``answers_by_code`` cover API paths only (not media, not controls);
    ``creates_by_external_id`` counts create *attempts* per external id whatever the answer, ``creates``
    only tasks really created; ``request_log`` (last 2000) holds API and media requests, ``status`` None
    for a dropped connection. Two-step flows: ``session_requests`` counts calls per endpoint whatever the
    answer, ``sessions_created`` the sessions really opened (per kind), ``selection_calls`` the selection
    edits really applied (per endpoint), so a test can prove a retry opened no second session.
    ``callbacks_dropped`` / ``callbacks_duplicated`` count injected callback faults.
    """

    def __init__(self) -> None:
        self.creates = 0
        self.create_attempts = 0
        self.creates_by_external_id: Counter[str] = Counter()
        self.queries_by_task: Counter[str] = Counter()
        self.queries_by_external_id: Counter[str] = Counter()
        self.list_requests = 0
        self.answers_by_code: Counter[str] = Counter()
        self.http_status: Counter[str] = Counter()
        self.faults_injected: Counter[str] = Counter()
        self.requests_total = 0
        self.media_requests = 0
        self.callbacks_sent = 0
        self.callbacks_failed = 0
        self.callbacks_dropped = 0
        self.callbacks_duplicated = 0
        self.costs_requests = 0
        self.billing_requests = 0
        self.session_requests: Counter[str] = Counter()
        self.sessions_created: Counter[str] = Counter()
        self.selection_calls: Counter[str] = Counter()
        self.request_log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in vars(self).items():
            out[name] = (
                dict(value)
                if isinstance(value, Counter)
                else list(value)
                if isinstance(value, deque)
                else value
            )
        return out

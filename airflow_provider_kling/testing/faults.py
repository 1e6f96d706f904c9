"""Deterministic fault injection: seeded random rates plus a queue of one-shot answers.

A request "operation" is ``create`` (POST) or ``query`` (GET one task or the list). Each in-scope request
draws exactly one number from a ``random.Random(seed)``, so a given seed and request sequence always yields
the same faults. One-shot entries (``fail_requests``) take precedence and are consumed in queue order by the
first request they match.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_kling.testing.config import FAULT_KINDS, EmulatorConfig

#: HTTP status Kling uses for each business code (kling-api.md §5).
CODE_STATUS = {
    **dict.fromkeys((1000, 1001, 1002, 1003, 1004), 401),
    **dict.fromkeys((1100, 1101, 1102, 1302, 1303, 1304), 429),
    1103: 403,
    **dict.fromkeys((1200, 1201, 1300, 1301), 400),
    **dict.fromkeys((1202, 1203), 404),
    5000: 500,
    5001: 503,
    5002: 504,
}

CODE_MESSAGES = {
    1302: "requests too fast, please slow down",
    1303: "parallel task over resource pack limit",
    5000: "server internal error",
    5001: "server temporarily unavailable for maintenance",
    5002: "server internal timeout",
}


def status_for_code(code: int) -> int:
    return CODE_STATUS.get(code, 500)


@dataclass
class Fault:
    """One injected answer. ``kind`` is a code as a string, or drop / malformed / html / gateway_error."""

    kind: str | None
    after_create: bool = False
    status: int | None = None
    message: str | None = None
    error_type: str | None = None
    retry_after: float | None = None
    delay: float = 0.0
    entry: dict[str, Any] | None = field(default=None, repr=False)  # the queue entry, for later consumption

    @property
    def answers(self) -> bool:
        """False for a pure ``{"delay": N}`` entry, which only slows the normal answer."""
        return self.kind is not None


def fault_from_entry(entry: dict[str, Any]) -> Fault:
    kind: str | None = None
    if "code" in entry:
        kind = str(entry["code"])
    for name in FAULT_KINDS:
        if entry.get(name):
            kind = name
    gateway = entry.get("gateway_error")
    gateway = gateway if isinstance(gateway, dict) else {}
    return Fault(
        kind=kind,
        after_create=bool(entry.get("after_create")),
        status=entry.get("status"),
        message=entry.get("message", gateway.get("message")),
        error_type=entry.get("type", gateway.get("type")),
        retry_after=entry.get("retry_after"),
        delay=float(entry.get("delay", 0) or 0),
        entry=entry,
    )


def _kind_order(kind: str) -> tuple[int, str]:
    """Fixed evaluation order, so JSON key order can never change which fault a draw selects."""
    base = kind.removesuffix("_after_create")
    return (0 if base.isdigit() else 1, kind)


class FaultInjector:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def reseed(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def before(self, op: str, config: EmulatorConfig) -> Fault | None:
        """Pick the fault for a request about to be handled (``op`` is "create" or "query").

        A matching one-shot entry without ``after_create`` is consumed here; an ``after_create`` one is only
        returned, and the create handler consumes it once a task has really been created.
        """
        for entry in config.fail_requests:
            if _matches(entry, op):
                fault = fault_from_entry(entry)
                if not fault.after_create:
                    config.fail_requests.remove(entry)
                return fault
        if not config.faults or config.fault_scope not in ("all", op):
            return None
        draw = self.rng.random()
        total = 0.0
        for kind in sorted(config.faults, key=_kind_order):
            total += float(config.faults[kind])
            if draw < total:
                base = kind.removesuffix("_after_create")
                return Fault(kind=base, after_create=base != kind)
        return None


def _matches(entry: dict[str, Any], op: str) -> bool:
    if entry.get("after_create"):
        return op == "create"
    return entry.get("scope", "all") in ("all", op)

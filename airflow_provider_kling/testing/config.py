"""Configuration of the Kling emulator: one dataclass, merged from JSON by ``POST /emulator/config``.

Merging is shallow: every key given replaces the current value of that field wholesale (a new ``faults``
dict replaces the old one, a new ``fail_requests`` list replaces the pending queue).

Fields of Kling's 2026 API:

- ``strict_fields``: refuse (1201) create fields the emulator does not know, instead of ignoring them.
- ``unit_charges`` / ``unit_list_price``: what tasks cost (rule in ``billing.py``); ``units_charged`` in
  ``/emulator/stats`` adds up the charges of succeeded tasks.
- ``gateway_billing``: what a gateway's billing endpoints answer at its root (``gateway.py``);
- ``resource_packs``: what ``GET /account/costs`` answers (``resource_pack_subscribe_infos`` entries);
  ``costs_min_interval``: a second costs call of one account sooner than this many seconds answers 429 code
  1302 (0 disables).
- ``faces_per_video``: how many faces ``identify-face`` finds in a video (1 to 10).
- ``webhook_secret`` (``whsec_<base64>`` or a raw string): sign callbacks the Standard Webhooks way
  (``webhooks.py``); ``callback_wrapped``: send them inside ``{code, message, request_id, data}``;
  ``callback_drop_rate`` / ``callback_duplicate_rate``: seeded share of deliveries lost / sent twice.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_kling.testing.billing import (
    UNIT_CHARGE_KEYS,
    default_resource_packs,
    default_unit_charges,
)
from airflow_provider_kling.testing.gateway import ERROR_MODES, default_gateway_billing
from airflow_provider_kling.testing.webhooks import secret_key

DEFAULT_TOKEN = "sk-emulator-token"

#: Fields that ``reset`` leaves alone, so a test cannot lock itself out by resetting.
AUTH_FIELDS = ("api_tokens", "access_keys", "require_auth")
#: Fields never shown over HTTP: ``public_dict`` replaces them with ``{"redacted": <count>}``.
SECRET_FIELDS = ("api_tokens", "access_keys", "webhook_secret")

FAULT_SCOPES = ("all", "create", "query")

#: Fault kinds besides numeric business codes; each may also be suffixed ``_after_create``.
FAULT_KINDS = ("drop", "malformed", "html", "gateway_error")


@dataclass
class EmulatorConfig:
    """Everything a test can tune; all fields are JSON values so the config round-trips over HTTP."""

    api_tokens: list[str] = field(default_factory=lambda: [DEFAULT_TOKEN])
    access_keys: dict[str, str] = field(default_factory=dict)
    require_auth: bool = True
    submitted_seconds: float = 0.2
    task_duration: float = 1.0
    task_durations: dict[str, float] = field(default_factory=dict)
    #: each task lasts its duration plus a seeded uniform draw in [0, spread): a batch ends spread out
    task_duration_spread: float = 0.0
    fail_next: dict[str, Any] | None = None
    clock_offset: float = 0.0
    public_base_url: str | None = None
    media_size_bytes: int = 0
    concurrency_limit: int | None = None
    faults: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    fault_scope: str = "all"
    fail_requests: list[dict[str, Any]] = field(default_factory=list)
    slow_seconds: float = 0.0
    callback_interval: float = 0.1
    callback_timeout: float = 5.0
    strict_fields: bool = False
    unit_charges: dict[str, float] = field(default_factory=default_unit_charges)
    unit_list_price: float = 0.14
    resource_packs: list[dict[str, Any]] = field(default_factory=default_resource_packs)
    costs_min_interval: float = 1.0
    gateway_billing: dict[str, Any] = field(default_factory=default_gateway_billing)
    faces_per_video: int = 2
    webhook_secret: str | None = None
    callback_wrapped: bool = False
    callback_drop_rate: float = 0.0
    callback_duplicate_rate: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def public_dict(self) -> dict[str, Any]:
        """``to_dict`` with the secrets replaced by how many there are (posting it back is refused)."""
        out = self.to_dict()
        for name in SECRET_FIELDS:
            value = out[name]
            out[name] = {"redacted": len(value) if isinstance(value, list | dict) else int(bool(value))}
        return out

    def copy(self) -> EmulatorConfig:
        return copy.deepcopy(self)

    def merged(self, updates: dict[str, Any]) -> EmulatorConfig:
        """Return a validated copy with ``updates`` applied; raises ValueError naming the bad key."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(updates) - names)
        if unknown:
            raise ValueError(f"unknown config field(s): {', '.join(unknown)}")
        new = dataclasses.replace(self.copy(), **copy.deepcopy(updates))
        new.validate()
        return new

    def validate(self) -> None:
        """Catch typos early: a silently ignored fault rate makes a test pass for the wrong reason."""
        _number(self.submitted_seconds, "submitted_seconds", minimum=0)
        _number(self.task_duration, "task_duration", minimum=0)
        _number(self.task_duration_spread, "task_duration_spread", minimum=0)
        _number(self.clock_offset, "clock_offset")
        _number(self.slow_seconds, "slow_seconds", minimum=0)
        _number(self.callback_interval, "callback_interval", minimum=0.001)
        _number(self.callback_timeout, "callback_timeout", minimum=0.001)
        _number(self.unit_list_price, "unit_list_price", minimum=0)
        _number(self.costs_min_interval, "costs_min_interval", minimum=0)
        billing = self.gateway_billing
        if not isinstance(billing, dict) or billing.get("error") not in ERROR_MODES:
            raise ValueError(f"gateway_billing must be an object whose error is one of {ERROR_MODES}")
        _number(self.callback_drop_rate, "callback_drop_rate", minimum=0, maximum=1)
        _number(self.callback_duplicate_rate, "callback_duplicate_rate", minimum=0, maximum=1)
        if self.callback_drop_rate + self.callback_duplicate_rate > 1:
            raise ValueError("callback_drop_rate + callback_duplicate_rate must not exceed 1")
        if not isinstance(self.callback_wrapped, bool):
            raise ValueError("callback_wrapped must be true or false")
        if self.webhook_secret is not None:
            if not isinstance(self.webhook_secret, str) or not self.webhook_secret:
                raise ValueError("webhook_secret must be null or a non-empty string")
            secret_key(self.webhook_secret)
        if not isinstance(self.faces_per_video, int) or not 1 <= self.faces_per_video <= 10:
            raise ValueError("faces_per_video must be an integer from 1 to 10")
        if not isinstance(self.strict_fields, bool):
            raise ValueError("strict_fields must be true or false")
        if not isinstance(self.unit_charges, dict) or not set(UNIT_CHARGE_KEYS) <= set(self.unit_charges):
            raise ValueError(f"unit_charges must be an object with at least {', '.join(UNIT_CHARGE_KEYS)}")
        for name, value in self.unit_charges.items():
            _number(value, f"unit_charges[{name}]", minimum=0)
        if not isinstance(self.resource_packs, list) or not all(
            isinstance(p, dict) and isinstance(p.get("resource_pack_name"), str) for p in self.resource_packs
        ):
            raise ValueError("resource_packs must be a list of objects with a resource_pack_name")
        if not isinstance(self.api_tokens, list) or not all(isinstance(t, str) for t in self.api_tokens):
            raise ValueError("api_tokens must be a list of strings")
        if not isinstance(self.access_keys, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.access_keys.items()
        ):
            raise ValueError("access_keys must map access key strings to secret key strings")
        if not isinstance(self.task_durations, dict):
            raise ValueError("task_durations must be an object")
        for name, value in self.task_durations.items():
            _number(value, f"task_durations[{name}]", minimum=0)
        if self.fail_next is not None and (
            not isinstance(self.fail_next, dict) or not isinstance(self.fail_next.get("count", 1), int)
        ):
            raise ValueError('fail_next must be {"count": N, "message": "..."}')
        if not isinstance(self.media_size_bytes, int) or self.media_size_bytes < 0:
            raise ValueError("media_size_bytes must be an integer >= 0")
        if self.concurrency_limit is not None and (
            not isinstance(self.concurrency_limit, int) or self.concurrency_limit < 0
        ):
            raise ValueError("concurrency_limit must be null or an integer >= 0")
        if not isinstance(self.seed, int):
            raise ValueError("seed must be an integer")
        if self.fault_scope not in FAULT_SCOPES:
            raise ValueError(f"fault_scope must be one of {', '.join(FAULT_SCOPES)}")
        if not isinstance(self.faults, dict):
            raise ValueError("faults must be an object of kind -> rate")
        for kind, rate in self.faults.items():
            base = kind.removesuffix("_after_create")
            if not (base.isdigit() or base in FAULT_KINDS):
                raise ValueError(f"unknown fault kind {kind!r}")
            _number(rate, f"faults[{kind}]", minimum=0, maximum=1)
        if not isinstance(self.fail_requests, list):
            raise ValueError("fail_requests must be a list of objects")
        for entry in self.fail_requests:
            if not isinstance(entry, dict) or not {"code", "delay", *FAULT_KINDS} & set(entry):
                raise ValueError(f"fail_requests entry needs code, delay or one of {', '.join(FAULT_KINDS)}")
            if "code" in entry and not str(entry["code"]).isdigit():
                raise ValueError("fail_requests code must be an integer")
            if entry.get("scope", "all") not in FAULT_SCOPES:
                raise ValueError(f"fail_requests scope must be one of {', '.join(FAULT_SCOPES)}")


def _number(value: Any, name: str, minimum: float | None = None, maximum: float | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be between {minimum} and {maximum}")

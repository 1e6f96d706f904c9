"""A gateway's own billing endpoints (kling-api.md §8), at the gateway root rather than under ``/kling``.

OpenAI-dashboard style: ``GET /v1/dashboard/billing/subscription`` (``hard_limit_usd``, ...) and
``GET /v1/dashboard/billing/usage`` (``total_usage`` in hundredths of the unit); new-api style:
``GET /api/usage/token``. Config ``gateway_billing`` shapes the answers:

- ``hard_limit_usd`` / ``soft_limit_usd`` / ``total_usage``: the figures;
- ``dashboard``: false answers 404 on the two dashboard paths (a gateway that only has ``/api/usage/token``);
- ``token_usage``: the ``data`` object of ``/api/usage/token``, or null for 404;
- ``error``: ``"error_object"`` answers HTTP 200 ``{"error": {...}}``, ``"success_false"`` HTTP 200
  ``{"success": false, "message": ...}``, as some gateways report their failures.
"""

from __future__ import annotations

import time
from typing import Any

ERROR_MODES = (None, "error_object", "success_false")


def default_gateway_billing() -> dict[str, Any]:
    return {
        "hard_limit_usd": 100.0,
        "soft_limit_usd": 80.0,
        "total_usage": 2550.0,
        "dashboard": True,
        "token_usage": None,
        "error": None,
    }


def answer(path: str, billing: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON body a gateway gives for one of its billing paths."""
    if billing.get("error") == "error_object":
        return 200, {
            "error": {"message": "quota query failed: upstream billing unavailable", "type": "new_api_error"}
        }
    if billing.get("error") == "success_false":
        return 200, {"success": False, "message": "invalid token: billing is not enabled for this key"}
    if path == "/api/usage/token":
        usage = billing.get("token_usage")
        if usage is None:
            return 404, {
                "error": {"message": "Invalid URL (GET /api/usage/token)", "type": "invalid_request_error"}
            }
        return 200, {"code": True, "message": "ok", "data": {"object": "token_usage", **usage}}
    if not billing.get("dashboard", True):
        return 404, {"error": {"message": f"Invalid URL (GET {path})", "type": "invalid_request_error"}}
    if path.endswith("/subscription"):
        limit = float(billing["hard_limit_usd"])
        return 200, {
            "object": "billing_subscription",
            "has_payment_method": True,
            "hard_limit_usd": limit,
            "soft_limit_usd": float(billing.get("soft_limit_usd", limit)),
            "system_hard_limit_usd": limit,
            "access_until": int(time.time()) + 365 * 86400,
        }
    return 200, {"object": "list", "total_usage": float(billing["total_usage"])}

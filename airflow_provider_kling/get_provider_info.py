"""Provider metadata, found by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_kling import __version__

_INTEGRATION = "Kling AI"


def get_provider_info() -> dict[str, Any]:
    """The provider-info dict Airflow reads; ``package-name`` must be the canonical distribution name."""
    return {
        "package-name": "airflow-provider-kling",
        "name": "Kling AI",
        "description": "Kling AI video, image and audio generation: hook, deferrable sensor and trigger, "
        "operators for every task type.",
        "versions": [__version__],
        "integrations": [{"integration-name": _INTEGRATION, "external-doc-url": "https://klingai.com/"}],
        "hooks": [
            {"integration-name": _INTEGRATION, "python-modules": ["airflow_provider_kling.hooks.kling"]}
        ],
        "triggers": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    "airflow_provider_kling.triggers.kling",
                    "airflow_provider_kling.triggers.resubmit",
                ],
            }
        ],
        "operators": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    "airflow_provider_kling.operators.kling",
                    "airflow_provider_kling.operators.sessions",
                    "airflow_provider_kling.operators.quota",
                    "airflow_provider_kling.operators.download",
                    "airflow_provider_kling.operators.sweep",
                ],
            }
        ],
        "extra-links": ["airflow_provider_kling.links.KlingResultLink"],
        "sensors": [
            {"integration-name": _INTEGRATION, "python-modules": ["airflow_provider_kling.sensors.kling"]}
        ],
        "connection-types": [
            {
                "connection-type": "kling",
                "hook-class-name": "airflow_provider_kling.hooks.kling.KlingHook",
                "hook-name": "Kling AI",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {
                        "host": "Base URL",
                        "login": "Access key (optional)",
                        "password": "API token / secret key",
                    },
                    "placeholders": {
                        "host": "https://<gateway>/kling or https://api-singapore.klingai.com",
                        "login": "Kling access key; leave empty when the password is an API token",
                        "password": "gateway token (sk-...), Kling API key, or Kling secret key",
                    },
                },
                "conn-fields": {
                    "timeout": {
                        "label": "Timeout (seconds per request)",
                        "description": "How long one HTTP request to Kling may take. Default 60.",
                        "schema": {"type": ["number", "null"], "minimum": 0},
                    },
                    "max_retries": {
                        "label": "Max retries",
                        "description": "Retries of transient failures (1302, 1303, 5xx, network); default 5.",
                        "schema": {"type": ["integer", "null"], "minimum": 0},
                    },
                    "ca_bundle": {
                        "label": "CA bundle (optional)",
                        "description": "PEM file of CAs to trust (a gateway with a private CA).",
                        "schema": {"type": ["string", "null"]},
                    },
                    "callback_base_url": {
                        "label": "Callback base URL (event-driven, optional)",
                        "description": "The public URL at which Kling reaches this Airflow's API server, "
                        "e.g. https://airflow.example.com; needed by completion_asset.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "callback_secret": {
                        "label": "Callback secret (event-driven, optional)",
                        "description": "Key of the tokens in callback URLs, at least 16 characters "
                        "(openssl rand -hex 32); needed by completion_asset.",
                        "schema": {"type": ["string", "null"], "format": "password"},
                    },
                    "webhook_secret": {
                        "label": "Webhook secret (optional)",
                        "description": "Kling's Standard Webhooks signing secret (whsec_...): when set, "
                        "unsigned or wrongly signed callbacks are refused.",
                        "schema": {"type": ["string", "null"], "format": "password"},
                    },
                },
            }
        ],
    }

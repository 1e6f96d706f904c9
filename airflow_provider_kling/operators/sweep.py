"""``KlingCompletionSweepOperator``: the safety net of event-driven completion, run on a schedule.

A callback can be lost (Airflow unreachable, a proxy down, Kling not calling). The submissions made with
``completion_asset`` are noted in XCom ``kling_completion``; this operator asks the callback plugin in the
API server to settle those older than ``grace_period`` that still have no event: the plugin queries Kling for
each and records the events of the tasks that ended, exactly as for a callback (never twice). The request is
signed with the connection's ``callback_secret`` (Standard Webhooks scheme), since the plugin's endpoints are
outside Airflow's auth.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException, BaseOperator

from airflow_provider_kling import options
from airflow_provider_kling.callbacks import MAX_SWEEP_QUERIES
from airflow_provider_kling.exceptions import KlingError, KlingValidationError

DEFAULT_GRACE_PERIOD = 15 * 60
DEFAULT_LOOKBACK = 2 * 24 * 3600
DEFAULT_MAX_QUERIES = 200


class KlingCompletionSweepOperator(BaseOperator):
    """Record the completion events whose callbacks never arrived (Airflow >= 3.1).

    ``return_value``: the count per outcome, e.g. ``{"submissions": 20, "already_recorded": 16,
    "queries": 4, "recorded": 4}`` (``running``: not ended yet; ``left_for_next_sweep``: over
    ``max_queries``).

    :param kling_conn_id: the ``kling`` connection the submissions used (its ``callback_secret`` signs the
        request, its ``callback_base_url`` locates the API server).
    :param grace_period: seconds a submission is left to its callbacks before the sweep looks at it.
    :param lookback: how far back submissions are considered (keep it longer than your longest generation
        plus the sweep's interval).
    :param max_queries: at most this many Kling queries per run; the rest waits for the next run.
    :param api_url: the API server's base URL as the worker reaches it, if not ``callback_base_url``.
    :param request_timeout: seconds the sweep request may take.
    """

    template_fields = ("api_url",)
    ui_color = "#d2e3fc"

    def __init__(
        self,
        *,
        kling_conn_id: str = "kling_default",
        grace_period: float = DEFAULT_GRACE_PERIOD,
        lookback: float = DEFAULT_LOOKBACK,
        max_queries: int = DEFAULT_MAX_QUERIES,
        api_url: str | None = None,
        request_timeout: float = 600.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        from airflow_provider_kling.events import event_driven_supported

        if not event_driven_supported():
            raise KlingValidationError(
                "KlingCompletionSweepOperator needs Airflow 3.1 or newer, whose API server serves the Kling "
                "callback plugin"
            )
        self.kling_conn_id = kling_conn_id
        self.grace_period = options.seconds("grace_period", grace_period)
        self.lookback = options.seconds("lookback", lookback)
        if self.grace_period > self.lookback:
            raise KlingValidationError("grace_period must not exceed lookback")
        self.max_queries = options.count("max_queries", max_queries, minimum=0, maximum=MAX_SWEEP_QUERIES)
        self.api_url = api_url
        self.request_timeout = options.seconds("request_timeout", request_timeout, above=True)

    def execute(self, context: Any) -> dict[str, int]:
        import requests

        from airflow_provider_kling.callbacks import sign_webhook, sweep_url
        from airflow_provider_kling.hooks.kling import KlingHook
        from airflow_provider_kling.redaction import redact_url

        settings = KlingHook(self.kling_conn_id).get_settings()
        base_url = self.api_url or settings.callback_base_url
        if not base_url or not settings.callback_secret:
            raise AirflowFailException(
                "The sweep needs the extras callback_secret and callback_base_url (or api_url) on "
                f"connection {self.kling_conn_id!r}"
            )
        url = sweep_url(base_url, self.kling_conn_id)
        body = json.dumps(
            {
                "conn_id": self.kling_conn_id,
                "grace_period": self.grace_period,
                "lookback": self.lookback,
                "max_queries": self.max_queries,
            }
        ).encode()
        headers = {
            "Content-Type": "application/json",
            **sign_webhook(settings.callback_secret, f"sweep_{uuid.uuid4().hex}", body),
        }
        try:
            response = requests.post(url, data=body, headers=headers, timeout=self.request_timeout)
        except requests.RequestException as err:
            raise KlingError(f"The sweep request to {redact_url(url)} failed: {type(err).__name__}") from None
        if response.status_code != 200:
            raise KlingError(
                f"The Kling callback plugin at {redact_url(url)} answered the sweep with HTTP "
                f"{response.status_code}: {response.text[:300]!r} (is the provider installed in the API "
                "server, Airflow >= 3.1, and callback_secret the same there?)"
            )
        counts: dict[str, int] = response.json()["counts"]
        self.log.info("Kling completion sweep: %s", counts)
        return counts

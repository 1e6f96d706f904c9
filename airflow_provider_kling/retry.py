"""The one retry policy every Kling call uses, sync or async, keyed on Kling business codes (§5)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from airflow_provider_kling.exceptions import (
    KlingConcurrencyLimitError,
    KlingDownloadError,
    KlingMalformedResponseError,
    KlingRateLimitError,
    KlingResponseError,
    KlingServerError,
    KlingTransportError,
)

DEFAULT_MAX_RETRIES = 5


@dataclass(frozen=True)
class RetryPolicy:
    """Which failures are worth another try, and how long to wait before it.

    Waits are exponential with full jitter (``uniform(0, min(max_delay, base_delay * 2**attempt))``),
    never shorter than ``min_delay`` (1 s for 1303, whose slots free up only when tasks end) and never
    shorter than a ``Retry-After`` the server sent (capped at ``max_retry_after``).
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    base_delay: float = 1.0
    max_delay: float = 60.0
    min_delay: float = 0.1
    concurrency_min_delay: float = 1.0
    max_retry_after: float = 300.0
    # False leaves 1302/1303 to the caller: the operator queues a create on the account's limit itself
    # (deferred, within ``submit_timeout``) instead of sleeping through the hook's retries on a worker.
    retry_rate_limits: bool = True

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0; got {self.max_retries}")

    def is_retryable(self, error: BaseException) -> bool:
        """1302, 1303, 5000-5002, HTTP 5xx/429 without a code, undecodable bodies, transport failures.

        A download is retried on 5xx, 429 and network failures only: its host is not Kling's API.
        """
        if isinstance(error, KlingDownloadError):
            return error.transient
        if isinstance(error, KlingRateLimitError):
            return self.retry_rate_limits
        if isinstance(error, KlingTransportError | KlingServerError):
            return True
        if isinstance(error, KlingMalformedResponseError):
            status = error.http_status or 0
            return status >= 500 or status == 429 or status < 300
        return False

    @staticmethod
    def outcome_unknown(error: BaseException) -> bool:
        """Whether a failed create may nonetheless have created the task (so it must be looked up first)."""
        if isinstance(error, KlingRateLimitError):
            return False
        return isinstance(error, KlingTransportError | KlingServerError | KlingResponseError)

    def delay(self, attempt: int, error: BaseException | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1`` (``attempt`` counts from 0)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** min(attempt, 30)))
        floor = (
            self.concurrency_min_delay if isinstance(error, KlingConcurrencyLimitError) else self.min_delay
        )
        wait = max(floor, random.uniform(0, ceiling))
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            wait = max(wait, min(float(retry_after), self.max_retry_after))
        return wait

"""The one retry policy: what is retried, what makes a create outcome unknown, how long to wait."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_kling import exceptions as exc
from airflow_provider_kling.exceptions import KlingDownloadError, KlingMalformedResponseError
from airflow_provider_kling.retry import RetryPolicy


def api(cls, code=None, status=None, retry_after=None):
    return cls("m", code=code, http_status=status, retry_after=retry_after)


@pytest.mark.parametrize(
    ("error", "retry", "unknown"),
    [
        (exc.KlingTransportError("dropped"), True, True),
        (api(exc.KlingServerError, 5002, 504), True, True),
        (api(exc.KlingServerError, None, 502), True, True),
        (api(exc.KlingRateLimitError, 1302, 429), True, False),
        (api(exc.KlingConcurrencyLimitError, 1303, 429), True, False),
        (api(KlingMalformedResponseError, None, 200), True, True),
        (api(exc.KlingAccountError, 1102, 429), False, False),
        (api(exc.KlingAuthError, 1002, 401), False, False),
        (api(exc.KlingInvalidRequestError, 1201, 400), False, False),
        (api(exc.KlingPolicyError, 1301, 400), False, False),
        (ValueError("bad id"), False, False),
    ],
)
def test_classification(error, retry, unknown):
    assert RetryPolicy().is_retryable(error) is retry
    assert RetryPolicy.outcome_unknown(error) is unknown


@given(attempt=st.integers(0, 60), base=st.floats(0.01, 10), cap=st.floats(10, 120))
def test_delay_is_jittered_within_the_exponential_ceiling(attempt, base, cap):
    policy = RetryPolicy(base_delay=base, max_delay=cap, min_delay=0.0)
    delay = policy.delay(attempt)
    assert 0.0 <= delay <= min(cap, base * 2**attempt) + 1e-9


def test_concurrency_limit_waits_at_least_a_second():
    policy = RetryPolicy(base_delay=0.001, max_delay=0.002)
    err = api(exc.KlingConcurrencyLimitError, 1303, 429)
    assert min(policy.delay(0, err) for _ in range(50)) >= 1.0


def test_retry_after_is_honoured_and_capped():
    policy = RetryPolicy(base_delay=0.001, max_delay=0.002, max_retry_after=30)
    assert policy.delay(0, api(exc.KlingRateLimitError, 1302, 429, retry_after=4)) >= 4
    assert policy.delay(0, api(exc.KlingRateLimitError, 1302, 429, retry_after=10_000)) == 30


def test_jitter_spreads_waits():
    policy = RetryPolicy(base_delay=1.0, max_delay=60, min_delay=0.0)
    assert len({round(policy.delay(5), 6) for _ in range(20)}) > 10


def test_negative_max_retries_is_rejected():
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)


URL = "https://user:pa55word@cdn.example/v.mp4?signature=abc123"


@pytest.mark.parametrize(
    ("error", "retry"),
    [
        (KlingDownloadError(URL, "connection dropped", network=True), True),
        (KlingDownloadError(URL, "server error", http_status=502), True),
        (KlingDownloadError(URL, "slow down", http_status=429), True),
        (KlingDownloadError(URL, "not found", http_status=404), False),
        (KlingDownloadError(URL, "forbidden", http_status=403), False),
        (KlingDownloadError(URL, "invalid Content-Length"), False),
        (KlingDownloadError(URL, "redirect to file://"), False),
    ],
)
def test_downloads_are_retried_on_5xx_429_and_network_failures_only(error, retry):
    assert RetryPolicy().is_retryable(error) is retry
    assert RetryPolicy.outcome_unknown(error) is False


def test_a_download_error_names_the_url_redacted_and_the_status_not_kling():
    text = str(KlingDownloadError(URL, "not found", http_status=404))
    assert text == "Downloading https://***@cdn.example/v.mp4?signature=*** failed (HTTP 404): not found"
    assert "Kling API error" not in text and "pa55word" not in text and "abc123" not in text

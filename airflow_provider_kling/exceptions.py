"""Errors raised by the Kling provider, one class per class of Kling business code (kling-api.md §5).

Callers decide on the class (or ``code``), never on the HTTP status: 1100-1102 arrive as HTTP 429 yet no retry
can help them.
"""

from __future__ import annotations

from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_kling.redaction import redact_url


class KlingError(AirflowException):
    """Base of every error this provider raises about Kling."""


class KlingConnectionConfigError(KlingError):
    """The Airflow connection is unusable (no credentials, base URL without scheme, bad extras)."""


class KlingTransportError(KlingError):
    """No usable HTTP answer: connection refused or dropped, or the request timed out."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class KlingApiError(KlingError):
    """Kling (or a gateway in front of it) answered with an error."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        http_status: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.http_status = http_status
        self.request_id = request_id
        self.retry_after = retry_after
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [f"Kling API error {self.code}" if self.code is not None else "Kling API error"]
        if self.http_status is not None:
            parts.append(f"(HTTP {self.http_status})")
        text = " ".join(parts) + f": {self.message}"
        if self.request_id:
            text += f" [request_id={self.request_id}]"
        return text


class KlingAuthError(KlingApiError):
    """1000-1004, 1103, 1304: the credentials, their rights or the caller's IP are refused."""


class KlingTokenExpiredError(KlingAuthError):
    """1003/1004: the JWT is not yet valid or has expired; re-signing it can help once."""


class KlingAccountError(KlingApiError):
    """1100-1102: the account is suspended, in arrears or out of resource packs; a person must act."""


class KlingInvalidRequestError(KlingApiError):
    """1200-1203: invalid parameters, method or resource (unknown task, model)."""


class KlingPolicyError(KlingApiError):
    """1300/1301: platform policy or content safety refused the request."""


class KlingRateLimitError(KlingApiError):
    """1302: requests too fast; back off and retry."""


class KlingConcurrencyLimitError(KlingRateLimitError):
    """1303: the resource pack's parallel-task limit is reached; wait for running tasks and resubmit."""


class KlingServerError(KlingApiError):
    """5000-5002 or an HTTP 5xx without a business code: Kling's side failed, possibly after acting."""


class KlingResponseError(KlingApiError):
    """An answer that is not Kling's envelope: HTML pages, truncated JSON, gateway ``{"error": …}`` bodies."""


class KlingMalformedResponseError(KlingResponseError):
    """The body could not be decoded as JSON (HTML error page, truncated or too deeply nested answer)."""


class KlingDownloadError(KlingError):
    """Fetching a result file failed; the host is a CDN or storage, not Kling's API, so there is no code.

    ``network`` marks failures on the wire (refused, dropped, cut short): those, 5xx and 429 are transient.
    """

    def __init__(
        self,
        url: str,
        problem: str,
        *,
        http_status: int | None = None,
        network: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.url = redact_url(url)
        self.http_status = http_status
        self.network = network
        self.retry_after = retry_after
        status = f" (HTTP {http_status})" if http_status is not None else ""
        super().__init__(f"Downloading {self.url} failed{status}: {problem}")

    @property
    def transient(self) -> bool:
        status = self.http_status or 0
        return self.network or status >= 500 or status == 429


_CODE_CLASSES: tuple[tuple[range, type[KlingApiError]], ...] = (
    (range(1003, 1005), KlingTokenExpiredError),
    (range(1000, 1003), KlingAuthError),
    (range(1103, 1104), KlingAuthError),
    (range(1304, 1305), KlingAuthError),
    (range(1100, 1103), KlingAccountError),
    (range(1200, 1204), KlingInvalidRequestError),
    (range(1300, 1302), KlingPolicyError),
    (range(1302, 1303), KlingRateLimitError),
    (range(1303, 1304), KlingConcurrencyLimitError),
    (range(5000, 5003), KlingServerError),
)


def error_class_for_code(code: int | None, http_status: int | None) -> type[KlingApiError]:
    """The error class for a business code; without a known code, fall back on the HTTP status."""
    if code is not None:
        for codes, cls in _CODE_CLASSES:
            if code in codes:
                return cls
    if http_status is not None and http_status >= 500:
        return KlingServerError
    if http_status == 429:
        return KlingRateLimitError
    if http_status in (401, 403):
        return KlingAuthError
    return KlingApiError


class KlingValidationError(ValueError):
    """A request field is invalid; raised before anything is sent, naming the field and what is allowed."""

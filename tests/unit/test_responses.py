"""Parsing one HTTP answer into Kling's data or the right error class (kling-api.md §3, §5)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_kling import exceptions as exc
from airflow_provider_kling.exceptions import KlingMalformedResponseError
from airflow_provider_kling.redaction import Redactor
from airflow_provider_kling.responses import parse_response, parse_retry_after, task_object
from airflow_provider_kling.retry import RetryPolicy


def body(**doc):
    return json.dumps(doc).encode()


def test_success_returns_data_untouched():
    data = {"task_id": "867283741759111202", "task_status": "submitted", "watermark_info": {"x": 1}}
    assert parse_response(200, body(code=0, message="SUCCEED", request_id="r", data=data)) == data


@pytest.mark.parametrize(
    ("http", "code", "cls", "retryable"),
    [
        (401, 1000, exc.KlingAuthError, False),
        (401, 1001, exc.KlingAuthError, False),
        (401, 1002, exc.KlingAuthError, False),
        (401, 1003, exc.KlingTokenExpiredError, False),
        (401, 1004, exc.KlingTokenExpiredError, False),
        (429, 1100, exc.KlingAccountError, False),
        (429, 1101, exc.KlingAccountError, False),
        (429, 1102, exc.KlingAccountError, False),
        (403, 1103, exc.KlingAuthError, False),
        (400, 1200, exc.KlingInvalidRequestError, False),
        (400, 1201, exc.KlingInvalidRequestError, False),
        (404, 1202, exc.KlingInvalidRequestError, False),
        (404, 1203, exc.KlingInvalidRequestError, False),
        (400, 1300, exc.KlingPolicyError, False),
        (400, 1301, exc.KlingPolicyError, False),
        (429, 1302, exc.KlingRateLimitError, True),
        (429, 1303, exc.KlingConcurrencyLimitError, True),
        (429, 1304, exc.KlingAuthError, False),
        (500, 5000, exc.KlingServerError, True),
        (503, 5001, exc.KlingServerError, True),
        (504, 5002, exc.KlingServerError, True),
        (200, 9999, exc.KlingApiError, False),
    ],
)
def test_business_code_decides_class_and_retry(http, code, cls, retryable):
    with pytest.raises(exc.KlingApiError) as info:
        parse_response(http, body(code=code, message="kling says no", request_id="req-1"))
    err = info.value
    assert type(err) is cls
    assert (err.code, err.http_status, err.request_id) == (code, http, "req-1")
    assert f"Kling API error {code} (HTTP {http}): kling says no [request_id=req-1]" == str(err)
    assert RetryPolicy().is_retryable(err) is retryable


def test_http_5xx_html_page_is_retryable_with_excerpt():
    with pytest.raises(KlingMalformedResponseError) as info:
        parse_response(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>")
    assert "502 Bad Gateway" in str(info.value) and info.value.http_status == 502
    assert RetryPolicy().is_retryable(info.value)


def test_html_404_is_not_retryable():
    with pytest.raises(KlingMalformedResponseError) as info:
        parse_response(404, b"<html>Not Found</html>")
    assert not RetryPolicy().is_retryable(info.value)


def test_truncated_json_on_200_is_retryable():
    with pytest.raises(KlingMalformedResponseError) as info:
        parse_response(200, b'{"code": 0, "data": {"task_id": "12')
    assert RetryPolicy().is_retryable(info.value)


@pytest.mark.parametrize(
    ("http", "cls", "retryable"),
    [
        (401, exc.KlingAuthError, False),
        (429, exc.KlingRateLimitError, True),
        (503, exc.KlingServerError, True),
    ],
)
def test_gateway_error_body_is_reported_clearly(http, cls, retryable):
    raw = body(error={"message": "invalid token sk-****", "type": "new_api_error"})
    with pytest.raises(cls, match="gateway new_api_error: invalid token") as info:
        parse_response(http, raw)
    assert RetryPolicy().is_retryable(info.value) is retryable


def test_gateway_error_on_400_is_a_response_error():
    with pytest.raises(exc.KlingResponseError, match="gateway bad_request"):
        parse_response(400, body(error={"message": "model not found", "type": "bad_request"}))


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"[1, 2]", "not a JSON object"),
        (b'{"message": "hi"}', "no business code"),
        (b'{"code": 0, "message": "SUCCEED"}', "code 0 but no data"),
        (b'{"code": 0, "data": null}', "code 0 but no data"),
        (b"", "empty body"),
    ],
)
def test_bad_envelopes_are_clear_errors(raw, match):
    with pytest.raises(exc.KlingResponseError, match=match):
        parse_response(200, raw)


def test_code_zero_with_error_status_is_still_an_error():
    with pytest.raises(exc.KlingServerError):
        parse_response(500, body(code=0, message="oops", data={}))


def test_retry_after_is_carried():
    with pytest.raises(exc.KlingRateLimitError) as info:
        parse_response(429, body(code=1302, message="too fast"), retry_after="7")
    assert info.value.retry_after == 7.0


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("", None), ("3", 3.0), ("soon", None)])
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date_in_the_past_is_zero():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_excerpt_is_short():
    with pytest.raises(KlingMalformedResponseError) as info:
        parse_response(500, b"x" * 10_000)
    assert len(str(info.value)) < 300


@given(status=st.integers(100, 599), raw=st.binary(max_size=300))
def test_any_bytes_give_data_or_a_kling_api_error(status, raw):
    try:
        parse_response(status, raw)
    except exc.KlingApiError:
        pass


@given(
    status=st.integers(100, 599),
    doc=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=12,
    ),
)
def test_any_json_gives_data_or_a_kling_api_error(status, doc):
    try:
        data = parse_response(status, json.dumps(doc).encode())
    except exc.KlingApiError as err:
        assert str(err)
    else:
        assert isinstance(doc, dict) and doc["code"] == 0 and status < 400 and data is doc["data"] is not None


# -- hardening (issue 12, items 3 and 12; Kling's API as it is in 2026: string codes) ----------------------

TOKEN = "sk-gw-token-5f1e2d3c4b5a69788796"
SECRET = "sk-secret-0a9b8c7d6e5f4a3b2c1d"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJhay10ZXN0IiwiZXhwIjoxNzAwMDAwMDAwfQ."
    "c2lnbmF0dXJlLXRoYXQtbG9va3MtcmVhbC0xMjM0NTY"
)


@pytest.mark.parametrize("value", ["\u00b2", "\u0663", "\uff11\uff12", "3.5", "-1", "1e3", " 7 x"])
def test_retry_after_takes_only_ascii_digits(value):
    assert parse_retry_after(value) is None


@given(value=st.text(max_size=40))
def test_any_retry_after_header_gives_seconds_or_none(value):
    seconds = parse_retry_after(value)
    assert seconds is None or seconds >= 0


def test_a_unicode_digit_retry_after_is_ignored_not_a_crash():
    with pytest.raises(exc.KlingRateLimitError) as info:
        parse_response(429, body(code=1302, message="too fast"), retry_after="\u00b2")
    assert info.value.retry_after is None


@pytest.mark.parametrize(
    ("code", "cls"), [("1303", exc.KlingConcurrencyLimitError), (" 1002 ", exc.KlingAuthError)]
)
def test_string_business_codes_are_integers(code, cls):
    with pytest.raises(cls) as info:
        parse_response(429, body(code=code, message="as a string"))
    assert info.value.code == int(code)


def test_string_code_zero_is_success():
    assert parse_response(200, body(code="0", message="SUCCEED", data={"task_id": "1"})) == {"task_id": "1"}


@pytest.mark.parametrize("code", ["zero", "1.0", "", "\u0661\u0660\u0660\u0660", True])
def test_codes_that_are_not_integers_are_still_refused(code):
    with pytest.raises(exc.KlingResponseError, match="no business code"):
        parse_response(200, body(code=code, data={}))


@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"a":' * 100_000])
def test_deeply_nested_json_is_a_malformed_answer_not_a_recursion_error(raw):
    with pytest.raises(exc.KlingMalformedResponseError, match="nested too deeply") as info:
        parse_response(200, raw)
    assert RetryPolicy().is_retryable(info.value)


def test_malformed_response_error_lives_in_exceptions():
    assert issubclass(exc.KlingMalformedResponseError, exc.KlingResponseError)
    with pytest.raises(exc.KlingMalformedResponseError):
        parse_response(502, b"<html>")


def _gateway_page(*values):
    echo = "".join(f"<p>Authorization: Bearer {v}</p><p>raw: {v}</p>" for v in values)
    return f"<html><h1>400 Bad Request</h1>{echo}</html>".encode()


@pytest.mark.parametrize("value", [TOKEN, SECRET, JWT])
def test_secrets_echoed_by_a_gateway_are_redacted_from_the_excerpt(value):
    redact = Redactor([TOKEN, SECRET])
    with pytest.raises(exc.KlingMalformedResponseError) as info:
        parse_response(400, _gateway_page(value), redact=redact)
    text = str(info.value)
    assert "400 Bad Request" in text and "***" in text
    assert value not in text and value[:12] not in text


def test_a_jwt_is_redacted_even_without_knowing_the_secrets():
    with pytest.raises(exc.KlingMalformedResponseError) as info:
        parse_response(502, _gateway_page(JWT))
    assert JWT.split(".")[1] not in str(info.value)


def test_a_secret_at_the_excerpt_boundary_leaves_no_prefix():
    page = b"x" * 190 + TOKEN.encode() + b" tail"
    with pytest.raises(exc.KlingMalformedResponseError) as info:
        parse_response(502, page, redact=Redactor([TOKEN]))
    assert TOKEN[:8] not in str(info.value)


@pytest.mark.parametrize("where", ["message", "request_id"])
def test_secrets_in_klings_message_fields_are_redacted(where):
    doc = {"code": 1002, "message": "bad token", "request_id": "r-1"}
    doc[where] = f"token {TOKEN} was rejected; jwt {JWT}"
    with pytest.raises(exc.KlingAuthError) as info:
        parse_response(401, json.dumps(doc).encode(), redact=Redactor([TOKEN]))
    assert TOKEN not in str(info.value) and JWT not in str(info.value)


def test_secrets_in_a_gateway_error_body_are_redacted():
    raw = body(error={"message": f"invalid key {TOKEN}", "type": "auth"})
    with pytest.raises(exc.KlingAuthError) as info:
        parse_response(401, raw, redact=Redactor([TOKEN]))
    assert TOKEN not in str(info.value) and "gateway auth: invalid key ***" in str(info.value)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ([], "data is not a task object"),
        ({"task_id": ["1"]}, "data is not a task object"),
        ({"task_id": "1", "task_status": []}, "task_status is a list"),
        ({"task_id": "1", "task_status": "succeed", "task_result": []}, "task_result is a list"),
        ({"task_id": "1", "task_status": "succeed", "task_info": "x"}, "task_info is a str"),
    ],
)
def test_task_objects_of_the_wrong_shape_are_response_errors(data, match):
    with pytest.raises(exc.KlingResponseError, match=match):
        task_object(data)


def test_task_object_keeps_unknown_fields_and_stringifies_the_id():
    task = task_object({"task_id": 867283741759111202, "task_status": "succeed", "new_field": [1]})
    assert task["task_id"] == "867283741759111202" and task["new_field"] == [1]

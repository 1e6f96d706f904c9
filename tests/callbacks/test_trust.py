"""Tokens, targets, Standard Webhooks signatures and the connection's callback extras (every Airflow)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_kling.callbacks import (
    CallbackAuthError,
    CallbackTarget,
    callback_token,
    callback_url,
    sign_webhook,
    verify_token,
    verify_webhook,
)
from airflow_provider_kling.exceptions import KlingConnectionConfigError
from airflow_provider_kling.hooks.connection import build_settings
from tests.callbacks.conftest import CALLBACK_SECRET, WEBHOOK_KEY, WEBHOOK_SECRET

TARGET = CallbackTarget(
    conn_id="kling_default",
    asset_name="videos",
    asset_uri="s3://bucket/videos",
    task_type="avatar/image2video",
    external_task_id="airflow-0123456789abcdef01234567-1",
    dag_id="submit",
    run_id="manual__2026-01-01T00:00:00+00:00",
    task_id="group.generate",
    map_index=17,
)


def test_a_target_round_trips_through_one_url_segment():
    url = callback_url("https://airflow.example.com/", CALLBACK_SECRET, TARGET)
    prefix = "https://airflow.example.com/kling-callbacks/v1/callback/"
    assert url.startswith(prefix)
    encoded, token = url[len(prefix) :].split("/")
    assert CallbackTarget.decode(encoded) == TARGET
    verify_token(CALLBACK_SECRET, encoded, token)
    # The token is an HMAC-SHA256 of the encoded target, keyed with the secret.
    digest = hmac.new(CALLBACK_SECRET.encode(), b"kling-callback/v1\n" + encoded.encode(), hashlib.sha256)
    assert token == base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


@given(st.text(min_size=1, max_size=40), st.integers(-1, 10_000))
def test_any_change_to_the_target_breaks_its_token(run_id, map_index):
    other = CallbackTarget(**{**TARGET.to_dict(), "run_id": run_id, "map_index": map_index})
    token = callback_token(CALLBACK_SECRET, TARGET.encode())
    if other != TARGET:
        with pytest.raises(CallbackAuthError, match="invalid callback token"):
            verify_token(CALLBACK_SECRET, other.encode(), token)
    assert CallbackTarget.decode(other.encode()) == other


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "not base64!",
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(json.dumps({**TARGET.to_dict(), "extra": 1}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({**TARGET.to_dict(), "map_index": "3"}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({**TARGET.to_dict(), "dag_id": ""}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({**TARGET.to_dict(), "conn_id": "a/b"}).encode()).decode(),
        "A" * 5000,
    ],
)
def test_malformed_targets_are_refused(encoded):
    with pytest.raises(CallbackAuthError, match="malformed callback target"):
        CallbackTarget.decode(encoded.rstrip("="))


def test_standard_webhooks_signatures():
    body = b'{"task_id": "1", "task_status": "succeed"}'
    headers = sign_webhook(WEBHOOK_SECRET, "msg_1", body, now=1_800_000_000)
    # Written from the scheme: base64 HMAC-SHA256 of "{id}.{timestamp}.{body}" with the decoded whsec_ key.
    expected = hmac.new(WEBHOOK_KEY, b"msg_1.1800000000." + body, hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(expected).decode()
    assert verify_webhook(WEBHOOK_SECRET, headers, body, now=1_800_000_100) == "msg_1"
    # Several signatures (a key rotation): one that matches is enough; other versions are skipped.
    rotated = {**headers, "webhook-signature": "v2,zzz v1,bm90LWl0 " + headers["webhook-signature"]}
    assert verify_webhook(WEBHOOK_SECRET, rotated, body, now=1_800_000_000) == "msg_1"
    refusals = {
        "webhook-timestamp outside the tolerance": (headers, body, 1_800_000_301),
        "invalid webhook signature": (headers, body + b" ", 1_800_000_000),
        "missing webhook signature headers": ({"webhook-id": "msg_1"}, body, 1_800_000_000),
        "invalid webhook-timestamp": ({**headers, "webhook-timestamp": "1e9"}, body, 1_800_000_000),
    }
    for message, (hdrs, raw, now) in refusals.items():
        with pytest.raises(CallbackAuthError, match=message):
            verify_webhook(WEBHOOK_SECRET, hdrs, raw, now=now)
    # A raw (non-whsec_) secret is its UTF-8 bytes, as the emulator and Kling's docs use it.
    raw_secret = "a raw shared secret"
    raw_headers = sign_webhook(raw_secret, "msg_2", body)
    signed = f"msg_2.{raw_headers['webhook-timestamp']}.".encode() + body
    digest = hmac.new(raw_secret.encode(), signed, "sha256")
    assert raw_headers["webhook-signature"] == "v1," + base64.b64encode(digest.digest()).decode()
    assert verify_webhook(raw_secret, raw_headers, body, now=time.time()) == "msg_2"


def settings(**extras):
    return build_settings(
        "kling_default", host=None, port=None, login=None, password="sk-token-x1", extras=extras
    )


def test_the_callback_extras_are_read_and_secrets_stay_out_of_repr():
    parsed = settings(
        callback_base_url="https://airflow.example.com/",
        callback_secret=CALLBACK_SECRET,
        webhook_secret=WEBHOOK_SECRET,
    )
    assert parsed.callback_base_url == "https://airflow.example.com"
    assert (parsed.callback_secret, parsed.webhook_secret) == (CALLBACK_SECRET, WEBHOOK_SECRET)
    assert CALLBACK_SECRET not in repr(parsed) and WEBHOOK_SECRET not in repr(parsed)
    assert settings().callback_base_url is None and settings().callback_secret is None


@pytest.mark.parametrize(
    ("extras", "message"),
    [
        ({"callback_base_url": "airflow.example.com"}, "'callback_base_url' must be the http"),
        ({"callback_base_url": "ftp://airflow.example.com"}, "'callback_base_url' must be the http"),
        ({"callback_base_url": 7}, "'callback_base_url' must be the http"),
        ({"callback_base_url": "https://u:p@airflow.example.com"}, "no user-info, query or fragment"),
        ({"callback_base_url": "https://airflow.example.com/?a=1"}, "no user-info, query or fragment"),
        ({"callback_secret": "short-secret"}, "at least 16 characters"),
        ({"callback_secret": "has spaces in the secret value"}, "visible ASCII"),
        ({"webhook_secret": "whsec_***not-base64***"}, "secret must be followed by Base64"),
        ({"webhook_secret": ["a list"]}, "'webhook_secret' must be text"),
    ],
)
def test_bad_callback_extras_are_named_never_echoed(extras, message):
    with pytest.raises(KlingConnectionConfigError, match=message) as raised:
        settings(**extras)
    for name, value in extras.items():
        if name.endswith("secret") and isinstance(value, str):
            assert value not in str(raised.value)

"""How a ``kling`` connection's fields and extras are read (no HTTP needed)."""

from __future__ import annotations

import logging
import time

import jwt
import pytest

from airflow_provider_kling.exceptions import KlingConnectionConfigError
from airflow_provider_kling.hooks import connection as conn_module
from airflow_provider_kling.hooks.connection import DEFAULT_BASE_URL, KlingCredentials, build_settings

AK, SK = "ak-unit-0123456789", "sk-unit-secret-abcdef0123456789abcdef"


def settings(**fields):
    base = {"host": "https://gw.example/kling", "port": None, "login": None, "password": "sk-token-12345"}
    base.update(fields)
    extras = base.pop("extras", {})
    return build_settings("kling_x", extras=extras, **base)


def test_empty_host_means_kling_singapore():
    assert settings(host="").base_url == DEFAULT_BASE_URL
    assert settings(host=None).url("v1/videos/text2video") == f"{DEFAULT_BASE_URL}/v1/videos/text2video"


def test_gateway_prefix_is_kept_and_trailing_slash_dropped():
    s = settings(host="https://gw.example/kling/")
    assert s.url("v1/images/generations") == "https://gw.example/kling/v1/images/generations"


def test_port_field_is_added_when_host_has_none():
    assert settings(host="http://127.0.0.1", port=8787).base_url == "http://127.0.0.1:8787"
    assert settings(host="http://127.0.0.1:9000", port=8787).base_url == "http://127.0.0.1:9000"


@pytest.mark.parametrize("host", ["api.klingai.com", "ftp://x.example", "//x.example"])
def test_host_without_http_scheme_is_a_clear_error(host):
    with pytest.raises(KlingConnectionConfigError, match=r"kling_x.*http:// or https://"):
        settings(host=host)


def test_no_credentials_names_the_connection():
    with pytest.raises(KlingConnectionConfigError, match="'kling_x' has no credentials"):
        settings(password=None)


def test_access_key_without_secret_is_rejected():
    with pytest.raises(KlingConnectionConfigError, match="secret key"):
        settings(login=AK, password=None)


def test_password_alone_is_a_bearer_token():
    s = settings(password="sk-gateway-token-1")
    assert not s.credentials.uses_jwt
    assert s.credentials.authorization() == "Bearer sk-gateway-token-1"


def test_login_and_password_sign_a_jwt_with_kling_claims():
    s = settings(login=AK, password=SK)
    header = s.credentials.authorization()
    token = header.removeprefix("Bearer ")
    claims = jwt.decode(token, SK, algorithms=["HS256"])
    now = time.time()
    assert claims["iss"] == AK
    assert abs(claims["exp"] - (now + 1800)) <= 2
    assert abs(claims["nbf"] - (now - 5)) <= 2
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}


def test_jwt_is_cached_then_resigned_before_expiry(monkeypatch):
    creds = KlingCredentials(access_key=AK, secret_key=SK)
    clock = [1_000_000.0]
    monkeypatch.setattr(conn_module.time, "time", lambda: clock[0])
    first = creds.authorization()
    clock[0] += 1000  # 800 s of life left: still more than the 600 s margin
    assert creds.authorization() == first
    clock[0] += 250  # 550 s left: re-signed
    second = creds.authorization()
    assert second != first
    assert (
        jwt.decode(second.split()[1], SK, algorithms=["HS256"], options={"verify_exp": False})["exp"]
        == int(clock[0]) + 1800
    )


def test_invalidate_forces_a_new_jwt(monkeypatch):
    creds = KlingCredentials(access_key=AK, secret_key=SK)
    clock = [2_000_000.0]
    monkeypatch.setattr(conn_module.time, "time", lambda: clock[0])
    first = creds.authorization()
    clock[0] += 1
    creds.invalidate()
    assert creds.authorization() != first


def test_credentials_repr_hides_secrets():
    for creds in (
        KlingCredentials(token="sk-gateway-token-1"),
        KlingCredentials(access_key=AK, secret_key=SK),
    ):
        text = repr(creds)
        assert "sk-gateway-token-1" not in text and SK not in text and AK not in text


def test_extras_timeout_and_max_retries_in_both_key_styles():
    s = settings(extras={"timeout": "12.5", "extra__kling__max_retries": 2})
    assert (s.timeout, s.max_retries) == (12.5, 2)
    assert settings().max_retries is None and settings().timeout == 60.0


@pytest.mark.parametrize(
    ("extras", "field"),
    [({"timeout": "soon"}, "timeout"), ({"timeout": 0}, "timeout"), ({"max_retries": -1}, "max_retries")],
)
def test_bad_extra_values_name_the_extra(extras, field):
    with pytest.raises(KlingConnectionConfigError, match=f"'{field}'"):
        settings(extras=extras)


def test_unknown_extras_are_ignored_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        s = settings(extras={"X-Api-Key": "leak-me-please", "timeout": 5})
    assert s.timeout == 5
    assert "ignoring unknown extra 'X-Api-Key'" in caplog.text
    assert "leak-me-please" not in caplog.text

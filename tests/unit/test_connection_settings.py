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
    assert abs(claims["nbf"] - (now - 30)) <= 2
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


BAD_EXTRAS = [
    ("timeout", "soon"),
    ("timeout", 0),
    ("timeout", float("nan")),
    ("timeout", "nan"),
    ("timeout", float("inf")),
    ("timeout", "-inf"),
    ("timeout", 0.01),
    ("timeout", 1e12),
    ("timeout", True),
    ("timeout", [5]),
    ("max_retries", -1),
    ("max_retries", 1.5),
    ("max_retries", "lots"),
    ("max_retries", float("nan")),
    ("max_retries", 10_000),
    ("max_retries", False),
    ("ca_bundle", 42),
]


@pytest.mark.parametrize(("field", "value"), BAD_EXTRAS)
def test_bad_extra_values_name_the_extra(field, value):
    with pytest.raises(KlingConnectionConfigError, match=f"'kling_x'.*extra '{field}'"):
        settings(extras={field: value})


def test_numeric_strings_from_the_connection_form_are_accepted():
    s = settings(extras={"timeout": " 7.5 ", "max_retries": "3"})
    assert (s.timeout, s.max_retries) == (7.5, 3)


# -- credentials pasted with whitespace or control characters (issue 12, item 1) -----------------------------


@pytest.mark.parametrize("pasted", ["sk-token-12345\n", "  sk-token-12345  ", "\tsk-token-12345\r\n"])
def test_surrounding_whitespace_is_stripped_from_a_token(pasted):
    assert settings(password=pasted).credentials.authorization() == "Bearer sk-token-12345"


def test_surrounding_whitespace_is_stripped_from_access_and_secret_keys():
    s = settings(login=f" {AK}\n", password=f"{SK}\n")
    claims = jwt.decode(s.credentials.authorization().split()[1], SK, algorithms=["HS256"])
    assert claims["iss"] == AK


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"password": "sk-tok\nen-12345"}, "password"),
        ({"password": "sk-tok\x00en-12345"}, "password"),
        ({"password": "sk-tok\x7fen-12345"}, "password"),
        ({"password": "sk-tok\u200ben-12345"}, "password"),
        ({"password": "sk-tok en-12345"}, "password"),
        ({"password": "sk-tok\u00e9n-12345"}, "password"),
        ({"login": "ak-with\ttab-1", "password": SK}, "login"),
        ({"login": AK, "password": "sk-sec\rret-12345"}, "password"),
    ],
)
def test_inner_control_characters_are_refused_naming_the_field_never_the_value(fields, named):
    with pytest.raises(KlingConnectionConfigError, match=f"'kling_x'.*{named}") as info:
        settings(**fields)
    text = str(info.value)
    for value in fields.values():
        for part in value.split():
            assert part[:6] not in text


def test_a_blank_password_means_no_credentials():
    with pytest.raises(KlingConnectionConfigError, match="has no credentials"):
        settings(password=" \n")


# -- user-info in the host (issue 12, item 2) ----------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "http://user:pa55-word-1@gw.example/kling",
        "https://sk-in-host-12345@gw.example",
        "https://:pw-99887@gw.example",
    ],
)
def test_user_info_in_the_host_is_refused_without_echoing_it(host):
    with pytest.raises(KlingConnectionConfigError, match="must not contain a user name or password") as info:
        settings(host=host)
    for secret in ("pa55-word-1", "sk-in-host-12345", "pw-99887", "user:"):
        assert secret not in str(info.value)
    assert "gw.example" in str(info.value)


def test_a_bad_scheme_error_does_not_echo_credentials():
    with pytest.raises(KlingConnectionConfigError, match="http:// or https://") as info:
        settings(host="ftp://user:pa55-word-2@x.example/")
    assert "pa55-word-2" not in str(info.value)


# -- proxies (issue 12, item 11): one decision for the sync and async paths ----------------------------------


def test_the_proxy_follows_the_environment_like_requests(monkeypatch):
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    assert settings(host="http://gw.example").proxy is None
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://tls-proxy.example:3128")
    assert settings(host="http://gw.example").proxy == "http://proxy.example:3128"
    assert settings(host="https://gw.example").proxy == "http://tls-proxy.example:3128"
    monkeypatch.setenv("NO_PROXY", "gw.example,10.0.0.0/8")
    assert settings(host="https://gw.example").proxy is None
    assert settings(host="http://10.1.2.3:8080").proxy is None
    assert settings(host="https://other.example").proxy == "http://tls-proxy.example:3128"


def test_settings_redact_the_connections_secrets():
    s = settings(login=AK, password=SK)
    issued = s.credentials.authorization().split()[1]
    text = s.redact(f"echo: {SK} {issued} {AK}")
    assert SK not in text and issued not in text and AK not in text


def test_unknown_extras_are_ignored_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        s = settings(extras={"X-Api-Key": "leak-me-please", "timeout": 5})
    assert s.timeout == 5
    assert "ignoring unknown extra 'X-Api-Key'" in caplog.text
    assert "leak-me-please" not in caplog.text

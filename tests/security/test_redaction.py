"""The two redactions every message goes through: URLs (user-info, query values) and server text (secrets)."""

from __future__ import annotations

import pytest

from airflow_provider_kling.redaction import Redactor, redact_url

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJhay0xIn0.c2lnbmF0dXJlLXZhbHVlLTEyMzQ1Ng"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://user:pa55@cdn.example/v.mp4?sig=abc&e=1", "https://***@cdn.example/v.mp4?sig=***&e=***"),
        ("http://u:p@ss-w0rd@127.0.0.1:1/x", "http://***@127.0.0.1:1/x"),
        (
            "['http://u:secret1@h/a.mp4', 'http://h/b.mp4?token=t0k']",
            "['http://***@h/a.mp4', 'http://h/b.mp4?token=***']",
        ),
        ("file://user:pw@localhost/etc/passwd", "file://***@localhost/etc/passwd"),
        (
            "https://api-singapore.klingai.com/v1/videos/text2video",
            "https://api-singapore.klingai.com/v1/videos/text2video",
        ),
    ],
)
def test_urls_lose_user_info_and_query_values_wherever_they_sit(text, shown):
    assert redact_url(text) == shown


def test_known_secrets_their_url_encoding_jwts_and_credentials_are_redacted():
    redact = Redactor(["sk-tok/en+12345", None, "", "abc"])
    text = redact(f"a sk-tok/en+12345 b sk-tok%2Fen%2B12345 c {JWT} d Basic dXNlcjpwYXNzd29yZA== e abc")
    assert text == "a *** b *** c *** d Basic *** e abc"  # secrets shorter than 4 characters are left alone


def test_ordinary_words_after_bearer_stay():
    assert Redactor()("expected Bearer, got nothing") == "expected Bearer, got nothing"

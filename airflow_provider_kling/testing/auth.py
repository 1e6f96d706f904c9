"""Kling's authentication check (kling-api.md §1 and §5), written from the document alone.

Returns a business code and message instead of raising, so the emulator answers exactly like Kling:
1001 header empty, 1002 token invalid, 1003 not yet valid, 1004 expired, 1000 any other failure.
Tokens are never logged or echoed back.
"""

from __future__ import annotations

from typing import Any

import jwt

from airflow_provider_kling.testing.config import EmulatorConfig

AuthError = tuple[int, str]


def check_auth(header: str | None, config: EmulatorConfig, now: float) -> AuthError | None:
    """Check an ``Authorization`` header value at emulator time ``now`` (Unix seconds)."""
    if not header or not header.strip():
        return 1001, "authorization header is empty"
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer":
        return 1002, "authorization header is invalid: expected Bearer"
    if not token:
        return 1001, "authorization token is empty"
    if token in config.api_tokens:
        return None
    if token.count(".") != 2:
        return 1002, "authorization token is invalid"
    return _check_jwt(token, config, now)


def account_of(header: str | None) -> str:
    """Who is calling, for per-account limits: a JWT's access key (``iss``), else the Bearer token itself.

    Only meaningful after ``check_auth`` accepted the header; the value is a dictionary key, never logged.
    """
    token = (header or "").strip().partition(" ")[2].strip()
    if token.count(".") == 2:
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            issuer = None
        if isinstance(issuer, str) and issuer:
            return f"ak:{issuer}"
    return f"token:{token}"


def _check_jwt(token: str, config: EmulatorConfig, now: float) -> AuthError | None:
    try:
        header = jwt.get_unverified_header(token)
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return 1002, "authorization token is invalid"
    if header.get("alg") != "HS256":
        return 1002, "authorization token is invalid: alg must be HS256"
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        return 1000, "authentication failed: iss claim missing"
    secret = config.access_keys.get(issuer)
    if secret is None:
        return 1002, "authorization token is invalid: unknown access key"
    try:
        # Time claims are checked below against the emulator clock, which tests can shift.
        jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.InvalidSignatureError:
        return 1002, "authorization token is invalid: bad signature"
    except jwt.PyJWTError:
        return 1002, "authorization token is invalid"
    nbf, exp = claims.get("nbf"), claims.get("exp")
    if exp is None:
        return 1000, "authentication failed: exp claim missing"
    for value in (nbf, exp):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return 1000, "authentication failed: nbf/exp must be numbers"
    if nbf is not None and now < nbf:
        return 1003, "authorization token is not yet valid"
    if now >= exp:
        return 1004, "authorization token has expired"
    return None

"""HTTPS with a private CA (the ``ca_bundle`` extra); connection settings shared by hooks on one loop."""

from __future__ import annotations

import json
import ssl
import subprocess

import pytest

from airflow_provider_kling.exceptions import KlingTransportError
from airflow_provider_kling.hooks import kling as kling_module
from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.retry import RetryPolicy
from airflow_provider_kling.testing import EmulatorConfig, EmulatorServer
from tests.conftest import TOKEN

ONCE = RetryPolicy(max_retries=0)


@pytest.fixture(scope="module")
def tls_emulator(tmp_path_factory):
    """The emulator over https with a self-signed certificate for 127.0.0.1 (the private CA is itself)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", str(key),
         "-out", str(cert), "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with EmulatorServer(EmulatorConfig(task_duration=0.3), ssl_context=context) as server:
        yield server, str(cert)


def use(monkeypatch, url, **extra):
    conn = {"conn_type": "kling", "host": url, "password": TOKEN, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_KLING_TLS", json.dumps(conn))


async def test_ca_bundle_lets_both_paths_trust_a_private_ca(tls_emulator, monkeypatch):
    server, cert = tls_emulator
    use(monkeypatch, server.url, ca_bundle=cert)
    task = KlingHook("kling_tls", retry_policy=ONCE).create_task("text2video", {"prompt": "over https"})
    hook = KlingHook("kling_tls", retry_policy=ONCE)
    try:
        assert (await hook.aget_task("text2video", task["task_id"]))["task_id"] == task["task_id"]
    finally:
        await hook.aclose()
    assert server.url.startswith("https://")


async def test_without_the_ca_bundle_the_certificate_is_refused(tls_emulator, monkeypatch):
    server, _ = tls_emulator
    use(monkeypatch, server.url)
    with pytest.raises(KlingTransportError):
        KlingHook("kling_tls", retry_policy=ONCE).list_tasks("text2video")
    hook = KlingHook("kling_tls", retry_policy=ONCE)
    try:
        with pytest.raises(KlingTransportError):
            await hook.alist_tasks("text2video")
    finally:
        await hook.aclose()


async def test_hooks_on_one_loop_resolve_the_connection_once(emulator, kling_conn, monkeypatch):
    lookups = []
    real = kling_module.get_async_connection

    async def counting(conn_id, hook=None):
        lookups.append(conn_id)
        return await real(conn_id, hook=hook)

    monkeypatch.setattr(kling_module, "get_async_connection", counting)
    hooks = [KlingHook(retry_policy=ONCE) for _ in range(5)]
    try:
        for hook in hooks:
            assert await hook.alist_tasks("text2video") == []
    finally:
        for hook in hooks:
            await hook.aclose()
    assert lookups == ["kling_default"]

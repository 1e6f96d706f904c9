"""``kling-emulator``: run the Kling API emulator from the command line.

Without ``--token``/``--access-key`` it accepts the Bearer token ``sk-emulator-token``. With ``--port 0`` it
picks a free port; ``--port-file`` receives the real port once listening, so scripts can start it in the
background and wait for that file. Prints ``Kling emulator listening on http://HOST:PORT`` and runs until
SIGTERM or SIGINT, then exits 0. A ``--host`` beyond loopback prints a warning to stderr: the control API
(``/emulator/...``) has no auth, so anyone who can reach the port can reconfigure the emulator.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import signal
import ssl
import sys
from pathlib import Path

from airflow_provider_kling.testing.config import EmulatorConfig
from airflow_provider_kling.testing.emulator import KlingEmulator
from airflow_provider_kling.testing.server import start_site


def _pair(value: str, sep: str, what: str) -> tuple[str, str]:
    left, found, right = value.partition(sep)
    if not found or not left:
        raise argparse.ArgumentTypeError(f"expected {what}, got {value!r}")
    return left, right


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kling-emulator", description="Local emulator of Kling's HTTP API.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8787, help="0 picks a free port")
    p.add_argument("--port-file", type=Path, help="write the bound port here once listening")
    p.add_argument("--token", action="append", default=[], help="accepted Bearer token (repeatable)")
    p.add_argument(
        "--access-key", action="append", default=[], metavar="AK:SK", help="JWT key pair (repeatable)"
    )
    p.add_argument("--no-auth", action="store_true", help="accept requests without credentials")
    p.add_argument("--task-duration", type=float, default=1.0, metavar="S")
    p.add_argument("--submitted-seconds", type=float, default=0.2, metavar="S")
    p.add_argument("--concurrency-limit", type=int, metavar="N")
    p.add_argument(
        "--fault", action="append", default=[], metavar="CODE=RATE", help="e.g. 1302=0.05, drop=0.01"
    )
    p.add_argument("--fault-scope", choices=("all", "create", "query"), default="all")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fail-next", metavar="N:MESSAGE", help="the next N tasks end failed with MESSAGE")
    p.add_argument("--slow", type=float, default=0.0, metavar="S", help="delay every API answer by S seconds")
    p.add_argument("--media-size", type=int, default=0, metavar="BYTES", help="size of served result files")
    p.add_argument("--public-base-url", help="base of result URLs instead of the request origin")
    p.add_argument("--strict-fields", action="store_true", help="refuse (1201) create fields Kling lacks")
    p.add_argument(
        "--webhook-secret",
        metavar="SECRET",
        help="sign callbacks (Standard Webhooks): whsec_<base64> or a raw string; default: unsigned",
    )
    p.add_argument("--callback-wrapped", action="store_true", help="send callbacks as {code, message, data}")
    p.add_argument("--callback-drop-rate", type=float, default=0.0, metavar="RATE", help="seeded, 0..1")
    p.add_argument("--callback-duplicate-rate", type=float, default=0.0, metavar="RATE", help="seeded, 0..1")
    p.add_argument("--tls-cert", type=Path)
    p.add_argument("--tls-key", type=Path)
    return p


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    config = EmulatorConfig(
        require_auth=not args.no_auth,
        task_duration=args.task_duration,
        submitted_seconds=args.submitted_seconds,
        concurrency_limit=args.concurrency_limit,
        seed=args.seed,
        fault_scope=args.fault_scope,
        slow_seconds=args.slow,
        media_size_bytes=args.media_size,
        public_base_url=args.public_base_url,
        strict_fields=args.strict_fields,
        webhook_secret=args.webhook_secret,
        callback_wrapped=args.callback_wrapped,
        callback_drop_rate=args.callback_drop_rate,
        callback_duplicate_rate=args.callback_duplicate_rate,
    )
    if args.token or args.access_key:
        config.api_tokens = list(args.token)
    config.access_keys = dict(_pair(item, ":", "AK:SK") for item in args.access_key)
    for item in args.fault:
        kind, rate = _pair(item, "=", "CODE=RATE")
        config.faults[kind] = float(rate)
    if args.fail_next:
        count, message = _pair(args.fail_next, ":", "N:MESSAGE")
        config.fail_next = {"count": int(count), "message": message}
    config.validate()
    return config


async def _serve(
    emulator: KlingEmulator, args: argparse.Namespace, ssl_context: ssl.SSLContext | None
) -> None:
    runner, port = await start_site(emulator, args.host, args.port, ssl_context)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        if args.port_file:
            args.port_file.write_text(f"{port}\n")
        scheme = "https" if ssl_context else "http"
        host = f"[{args.host}]" if ":" in args.host else args.host
        print(f"Kling emulator listening on {scheme}://{host}:{port}", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except (ValueError, argparse.ArgumentTypeError) as exc:
        parser.error(str(exc))
    ssl_context = None
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            parser.error("--tls-cert and --tls-key go together")
        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_context.load_cert_chain(args.tls_cert, args.tls_key)
    if not is_loopback(args.host):
        print(
            f"warning: kling-emulator listens on {args.host!r}, beyond loopback: its /emulator/ control API"
            " has no auth, so anyone who can reach this port can change its config (tokens included)",
            file=sys.stderr,
            flush=True,
        )
    asyncio.run(_serve(KlingEmulator(config), args, ssl_context))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Shared helpers of the benchmark scripts: the emulator subprocess, a self-signed certificate, figures.

Everything stays on loopback (127.0.0.1). Every wait here is bounded in time.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
TOKEN = "sk-emulator-token"  # the emulator's default accepted Bearer token


def quick_mode(argv: Sequence[str] | None = None) -> bool:
    """``--quick`` or ``KLING_BENCH_QUICK=1``: smaller sizes and fewer repeats, for a fast check."""
    args = sys.argv[1:] if argv is None else argv
    return "--quick" in args or os.environ.get("KLING_BENCH_QUICK", "") not in ("", "0")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def rss_bytes() -> int:
    """This process's resident set size now (VmRSS)."""
    return _status_field("VmRSS")


def hwm_bytes() -> int:
    """This process's peak resident set size so far (VmHWM)."""
    return _status_field("VmHWM")


def _status_field(name: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(name + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{name} not in /proc/self/status")


def machine() -> str:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            model = next(
                (line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), ""
            )
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model or platform.machine()}), Python {platform.python_version()}"


def loadavg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def header(title: str) -> None:
    print(f"== {title} — {time.strftime('%Y-%m-%d %H:%M:%S')} — {machine()} — load avg {loadavg()}")


def raise_fd_limit(wanted: int = 65536) -> int:
    """Raise the soft open-file limit towards ``wanted`` (capped by the hard limit); returns the new limit."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# -- TLS ---------------------------------------------------------------------------------------------------


def make_self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A throw-away certificate for 127.0.0.1 (``openssl`` CLI, else the ``cryptography`` package)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return cert, key
    except (OSError, subprocess.SubprocessError):
        pass
    return _cert_with_cryptography(cert, key)


def _cert_with_cryptography(cert: Path, key: Path) -> tuple[Path, Path]:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return cert, key


# -- the emulator in another process -----------------------------------------------------------------------


class Emulator:
    """The Kling emulator started through its CLI in a subprocess; ``url`` is its base URL."""

    def __init__(self, url: str, process: subprocess.Popen[bytes], cafile: Path | None) -> None:
        self.url = url
        self.process = process
        self.cafile = cafile

    def _open(self, request: urllib.request.Request | str, timeout: float = 60) -> Any:
        import ssl

        context = ssl.create_default_context(cafile=str(self.cafile)) if self.cafile else None
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return json.loads(response.read())

    def stats(self) -> dict[str, Any]:
        return self._open(f"{self.url}/emulator/stats")

    def configure(self, **updates: Any) -> dict[str, Any]:
        body = json.dumps(updates).encode()
        request = urllib.request.Request(
            f"{self.url}/emulator/config", data=body, headers={"Content-Type": "application/json"}
        )
        return self._open(request)

    def cpu_seconds(self) -> float:
        """User + system CPU time the emulator process has used so far (from /proc)."""
        with open(f"/proc/{self.process.pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def emulator_process(
    *,
    task_duration: float = 20.0,
    submitted_seconds: float = 1.0,
    media_size: int = 0,
    tls: tuple[Path, Path] | None = None,
    extra_args: Sequence[str] = (),
) -> Iterator[Emulator]:
    """Start ``python -m airflow_provider_kling.testing`` on a free loopback port; stop it afterwards."""
    with tempfile.TemporaryDirectory(prefix="kling-bench-emu-") as tmp:
        port_file = Path(tmp) / "port"
        log = open(Path(tmp) / "emulator.log", "wb")  # noqa: SIM115 - closed below
        args = [
            PYTHON,
            "-m",
            "airflow_provider_kling.testing",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--task-duration",
            str(task_duration),
            "--submitted-seconds",
            str(submitted_seconds),
            "--media-size",
            str(media_size),
            *extra_args,
        ]
        if tls is not None:
            args += ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            deadline = time.monotonic() + 60
            while not (port_file.exists() and port_file.read_text().strip()):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    output = (Path(tmp) / "emulator.log").read_text(errors="replace")
                    raise RuntimeError(f"the emulator did not start:\n{output}")
                time.sleep(0.05)
            port = int(port_file.read_text())
            scheme = "https" if tls else "http"
            yield Emulator(f"{scheme}://127.0.0.1:{port}", process, tls[0] if tls else None)
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
            log.close()


RESULT_PREFIX = "RESULT "


def print_result(result: Any) -> None:
    """A child's answer to ``run_json_child``: one stdout line, whatever else was logged."""
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def run_json_child(args: Sequence[str], env: dict[str, str] | None = None, timeout: float = 900) -> Any:
    """Run ``python <args>`` and return the JSON the child printed with ``print_result``."""
    result = subprocess.run(
        [PYTHON, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if result.returncode != 0 or not lines:
        raise RuntimeError(
            f"child {' '.join(args)} failed (exit {result.returncode}):\n{result.stdout[-3000:]}\n"
            f"{result.stderr[-3000:]}"
        )
    return json.loads(lines[-1].removeprefix(RESULT_PREFIX))


@contextmanager
def airflow_home() -> Iterator[dict[str, str]]:
    """Environment for child processes: a throw-away ``AIRFLOW_HOME``, so no real installation is touched."""
    with tempfile.TemporaryDirectory(prefix="kling-bench-airflow-") as home:
        yield {
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(Path(home) / "dags"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        }

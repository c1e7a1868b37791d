"""HTTPS for the status page: the given certificate, or a self-signed one made at first start.

Plain HTTP is allowed only on a loopback address (the page on the box itself, or
behind an SSH tunnel); on the lab network the page is HTTPS, with ``Secure``
cookies. The self-signed certificate is made with the system's ``openssl``
(in every Debian image) and kept under the data directory, so browsers that
accepted it once keep accepting it after a restart.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import ssl
import subprocess
from pathlib import Path

from appliance.errors import ApplianceError, ConfigError

log = logging.getLogger(__name__)

CERT_DAYS = 3650


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def wants_tls(mode: str, host: str) -> bool:
    """Whether to serve HTTPS for ``web.tls`` = auto/on/off on ``host``; ConfigError for plain HTTP outside."""
    if mode == "on":
        return True
    if mode == "off":
        if not is_loopback(host):
            raise ConfigError(
                "web.tls", mode, f"auto or on while web.listen is not a loopback address ({host}): "
                "plain HTTP is allowed only on loopback"
            )
        return False
    return not is_loopback(host)


def self_signed(directory: Path, common_name: str, host: str) -> tuple[Path, Path]:
    """The certificate and key under ``directory``, made now if missing."""
    cert, key = directory / "web-cert.pem", directory / "web-key.pem"
    if cert.exists() and key.exists():
        return cert, key
    directory.mkdir(parents=True, exist_ok=True)
    names = {f"DNS:{socket.gethostname()}", "DNS:localhost", "IP:127.0.0.1"}
    try:
        ipaddress.ip_address(host)
        if host not in ("0.0.0.0", "::"):
            names.add(f"IP:{host}")
    except ValueError:
        names.add(f"DNS:{host}")
    old_umask = os.umask(0o077)
    try:
        result = subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-days", str(CERT_DAYS), "-subj", f"/CN={common_name}", "-addext",
                "subjectAltName=" + ",".join(sorted(names)), "-keyout", str(key), "-out", str(cert),
            ],
            capture_output=True, text=True, timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ApplianceError(f"cannot make a certificate for the status page (is openssl installed?): {err}") from err
    finally:
        os.umask(old_umask)
    if result.returncode != 0:
        raise ApplianceError(f"openssl could not make the status page's certificate: {result.stderr.strip()[:300]}")
    log.info("made a self-signed certificate for the status page: %s", cert)
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as err:
        raise ConfigError("web.cert", str(cert), f"a PEM certificate with its key ({err})") from err
    return ctx

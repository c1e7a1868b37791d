"""The private Mosquitto of the sync tests (``sync.fleet.broker``) and the test certificates."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sync.fleet.broker import CENTRAL_USER, PREFIX, Certs, Mosquitto

__all__ = ["CENTRAL_USER", "PREFIX", "Certs", "Mosquitto", "make_certs"]

def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certs(directory: Path) -> Certs:
    """A test CA, a server certificate for 127.0.0.1, a good and a rogue client certificate."""
    d = directory
    d.mkdir(parents=True, exist_ok=True)
    for name in ("ca", "rogue-ca"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
                 "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=d)
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    leaves = (("server", "localhost", "ca"), ("client", "site-a", "ca"), ("rogue", "site-a", "rogue-ca"))
    for name, cn, ca in leaves:
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}",
                 "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
        extra = ["-extfile", "server.ext"] if name == "server" else []
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
                 "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", *extra, cwd=d)
    return Certs(d / "ca.pem", d / "server.pem", d / "server.key", d / "client.pem", d / "client.key",
                 d / "rogue.pem", d / "rogue.key")



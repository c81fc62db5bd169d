"""A throw-away certificate authority and a server certificate signed by it (openssl CLI)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServerCert:
    ca_cert: Path
    cert: Path
    key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory: Path, name: str = "jcall test CA") -> tuple[Path, Path]:
    """Create a self-signed CA; returns (cert, key)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "ca.crt", directory / "ca.key"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(cert),
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )
    return cert, key


def make_server_cert(directory: Path, domain: str) -> ServerCert:
    """A CA plus a leaf for ``domain`` (SAN: domain, localhost, 127.0.0.1)."""
    ca_cert, ca_key = make_ca(directory)
    key, csr = directory / f"{domain}.key", directory / f"{domain}.csr"
    cert = directory / f"{domain}.crt"
    ext = directory / "san.ext"
    ext.write_text(
        f"subjectAltName=DNS:{domain},DNS:localhost,IP:127.0.0.1\n"
        "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n"
    )
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={domain}",
             "-keyout", str(key), "-out", str(csr), cwd=directory)
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
             "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(cert),
             cwd=directory)
    return ServerCert(ca_cert=ca_cert, cert=cert, key=key)

"""Key material for a throwaway control plane: a CA, the API server's serving certificate, and
the service-account signing key. Generated with the openssl CLI (the project has no Python crypto
dependency), with the extensions strict TLS verifiers require, so clients verify the server
instead of skipping verification.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

_CA_EXT = """\
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier=hash
"""

_SERVER_EXT = """\
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1
"""


@dataclass(frozen=True)
class Pki:
    """Paths of the generated files."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    service_account_key: Path
    service_account_public_key: Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _ec_key(path: Path) -> None:
    _openssl(
        "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path)
    )
    path.chmod(0o600)


def generate_pki(directory: Path) -> Pki:
    """Create a fresh CA, a serving certificate for 127.0.0.1 and a service-account key."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = directory / "ca.key", directory / "ca.crt"
    server_key, server_csr = directory / "apiserver.key", directory / "apiserver.csr"
    server_cert = directory / "apiserver.crt"
    sa_key = directory / "service-account.key"
    ca_ext, server_ext = directory / "ca.ext", directory / "apiserver.ext"
    ca_ext.write_text(_CA_EXT)
    server_ext.write_text(_SERVER_EXT)

    _ec_key(ca_key)
    _openssl(
        "req",
        "-new",
        "-key",
        str(ca_key),
        "-subj",
        "/CN=bundle-renewal-operator-local-ca",
        "-out",
        str(directory / "ca.csr"),
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        str(directory / "ca.csr"),
        "-signkey",
        str(ca_key),
        "-days",
        "30",
        "-extfile",
        str(ca_ext),
        "-out",
        str(ca_cert),
    )
    _ec_key(server_key)
    _openssl(
        "req",
        "-new",
        "-key",
        str(server_key),
        "-subj",
        "/CN=kube-apiserver",
        "-out",
        str(server_csr),
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        str(server_csr),
        "-CA",
        str(ca_cert),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-days",
        "30",
        "-extfile",
        str(server_ext),
        "-out",
        str(server_cert),
    )
    _ec_key(sa_key)
    sa_pub = directory / "service-account.pub"
    _openssl("pkey", "-in", str(sa_key), "-pubout", "-out", str(sa_pub))
    return Pki(
        ca_cert=ca_cert,
        server_cert=server_cert,
        server_key=server_key,
        service_account_key=sa_key,
        service_account_public_key=sa_pub,
    )

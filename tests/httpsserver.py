"""A real HTTPS server on 127.0.0.1 with a test CA, for the MTA-STS policy and BIMI files.

A fresh CA (``TestCA``) signs one server certificate for the host names given;
the CA's PEM is written to a file that the code under test takes as its CA bundle
(``--ca-file``). The server answers by Host header and path from a table, so one
port serves ``mta-sts.<domain>`` of several test domains::

    with TestCA(tmp_path) as ca, HTTPSTestServer(ca, {("mta-sts.sts.example", "/x"):
            (200, "text/plain", b"...")}) as server:
        ...  server.port, ca.pem_path
"""

from __future__ import annotations

import datetime as dt
import http.server
import ssl
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["HTTPSTestServer", "Route", "TestCA", "make_certificate"]

Route = tuple[int, str, bytes]


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_certificate(
    issuer_key: ec.EllipticCurvePrivateKey | None,
    issuer: x509.Name | None,
    subject: str,
    *,
    names: Iterable[str] = (),
    ca: bool = False,
    extensions: Iterable[x509.ExtensionType] = (),
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A key and a certificate for ``subject`` (self-signed when no issuer is given)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer or _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    dns_names = [x509.DNSName(n) for n in names]
    if dns_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(dns_names), critical=False)
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    return key, cert


class TestCA:
    """A throwaway certificate authority; ``pem_path`` is its certificate (the CA bundle)."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.key, self.cert = make_certificate(None, None, "maildoctor test CA", ca=True)
        self.pem_path = directory / "test-ca.pem"
        self.pem_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, names: Iterable[str]) -> tuple[Path, Path]:
        """(certificate file, key file) for a server answering as ``names``."""
        names = list(names)
        key, cert = make_certificate(self.key, self.cert.subject, names[0], names=names)
        cert_path = self.directory / f"{names[0]}.pem"
        key_path = self.directory / f"{names[0]}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cert_path, key_path

    def __enter__(self) -> TestCA:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class HTTPSTestServer:
    """HTTPS on 127.0.0.1 (a free port) answering GETs from ``routes``:
    ``(host, path) -> (status, content type, body)``; anything else is a 404."""

    def __init__(self, ca: TestCA, routes: Mapping[tuple[str, str], Route]) -> None:
        self.routes = dict(routes)
        self.requests: list[tuple[str, str]] = []
        hosts = sorted({host for host, _ in self.routes}) or ["localhost"]
        cert_path, key_path = ca.issue(hosts)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host = (self.headers.get("Host") or "").split(":")[0].lower()
                server.requests.append((host, self.path))
                status, content_type, body = server.routes.get(
                    (host, self.path), (404, "text/plain", b"not found")
                )
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return None

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> HTTPSTestServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

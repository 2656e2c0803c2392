"""Self-signed webhook TLS for clusters without cert-manager (Katib: pkg/certgenerator/v1beta1/generator.go).

A CA (`katib-ca`) signs a serving certificate for the operator's Service DNS names. Both live in
the Secret `katib-webhook-cert` (`ca.crt`, `tls.crt`, `tls.key`), so every operator replica and
restart serves the same certificate; a certificate that no longer covers the names or expires
within `RENEW_BEFORE` is replaced. The CA goes into the `caBundle` of the webhook configurations.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from katib_py.kube.client import KubeClient
from katib_py.kube.resource import SECRETS

DEFAULT_SECRET_NAME = "katib-webhook-cert"
DEFAULT_SERVICE_NAME = "katib-controller"
CA_COMMON_NAME = "katib-ca"
VALIDITY = dt.timedelta(days=3650)
RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True)
class CertBundle:
    """PEM-encoded CA certificate, serving certificate and its private key."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    def write(self, directory: Path) -> tuple[Path, Path]:
        """Write `tls.crt` and `tls.key` (mode 0600) for kopf.WebhookServer(certfile=, pkeyfile=)."""
        directory.mkdir(parents=True, exist_ok=True)
        certfile, keyfile = directory / "tls.crt", directory / "tls.key"
        certfile.write_bytes(self.cert_pem)
        keyfile.touch(mode=0o600)
        keyfile.write_bytes(self.key_pem)
        return certfile, keyfile


def service_dns_names(service: str, namespace: str) -> list[str]:
    return [
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.cluster.local",
    ]


def generate(hostnames: list[str], *, now: dt.datetime | None = None) -> CertBundle:
    """A new CA and a serving certificate for `hostnames` (DNS names or IP addresses)."""
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME)])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for host in hostnames:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return CertBundle(
        ca_pem=ca_cert.public_bytes(serialization.Encoding.PEM),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


def is_usable(bundle: CertBundle, hostnames: list[str], *, now: dt.datetime | None = None) -> bool:
    """The certificate parses, is signed by the bundle's CA, covers `hostnames` and is not near expiry."""
    try:
        cert = x509.load_pem_x509_certificate(bundle.cert_pem)
        ca = x509.load_pem_x509_certificate(bundle.ca_pem)
        serialization.load_pem_private_key(bundle.key_pem, password=None)
        cert.verify_directly_issued_by(ca)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return False
    covered = {str(n) for n in names.get_values_for_type(x509.DNSName)}
    covered |= {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}
    moment = now or dt.datetime.now(dt.UTC)
    return set(hostnames) <= covered and cert.not_valid_after_utc - RENEW_BEFORE > moment


async def ensure_certificate(
    kube: KubeClient,
    namespace: str,
    *,
    service_name: str = DEFAULT_SERVICE_NAME,
    secret_name: str = DEFAULT_SECRET_NAME,
    extra_hostnames: list[str] | None = None,
) -> CertBundle:
    """The serving certificate from the Secret, generated (and stored) when missing or unusable."""
    hostnames = service_dns_names(service_name, namespace) + list(extra_hostnames or [])
    secret = await kube.get_or_none(SECRETS, secret_name, namespace)
    if secret is not None:
        data = secret.get("data") or {}
        try:
            stored = CertBundle(
                *(base64.b64decode(data.get(k) or "") for k in ("ca.crt", "tls.crt", "tls.key"))
            )
        except ValueError:
            stored = None
        if stored is not None and is_usable(stored, hostnames):
            return stored
    bundle = generate(hostnames)
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret_name, "namespace": namespace},
        "type": "kubernetes.io/tls",
        "data": {
            "ca.crt": base64.b64encode(bundle.ca_pem).decode("ascii"),
            "tls.crt": base64.b64encode(bundle.cert_pem).decode("ascii"),
            "tls.key": base64.b64encode(bundle.key_pem).decode("ascii"),
        },
    }
    if secret is None:
        created = await kube.create_if_absent(SECRETS, body, namespace)
        if created is None:  # another replica won the race: use its certificate
            return await ensure_certificate(
                kube,
                namespace,
                service_name=service_name,
                secret_name=secret_name,
                extra_hostnames=extra_hostnames,
            )
    else:
        await kube.patch(SECRETS, secret_name, {"data": body["data"]}, namespace)
    return bundle

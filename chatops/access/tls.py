"""A local certificate authority for `chatops up --tls`: a CA, the server's certificate, one per identity."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from chatops.access.keys import write_private

VALID_FOR = datetime.timedelta(days=365)
DEFAULT_HOSTS = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class CertPair:
    """A certificate and its private key (0600), both PEM."""

    cert: Path
    key: Path


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "chatops local"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _write(pair: CertPair, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    pair.cert.parent.mkdir(parents=True, exist_ok=True)
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    write_private(
        pair.key,
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


def _load(pair: CertPair) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    if not (pair.cert.is_file() and pair.key.is_file()):
        return None
    cert = x509.load_pem_x509_certificate(pair.cert.read_bytes())
    key = serialization.load_pem_private_key(pair.key.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    now = datetime.datetime.now(datetime.UTC)
    if cert.not_valid_after_utc - now < datetime.timedelta(days=7):
        return None  # about to expire: make a new one
    return cert, key


def _builder(
    subject: x509.Name, issuer: x509.Name, public: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALID_FOR)
    )


def authority(pair: CertPair) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The CA at `pair`, made first when there is none (or it is about to expire)."""
    found = _load(pair)
    if found is not None:
        return found
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("chatops local CA")
    cert = (
        _builder(name, name, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
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
        .sign(key, hashes.SHA256())
    )
    _write(pair, cert, key)
    return cert, key


def issue(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    pair: CertPair,
    common: str,
    *,
    server: bool,
    client: bool = False,
    hosts: Sequence[str] = DEFAULT_HOSTS,
) -> CertPair:
    """A server (for `hosts`) or client certificate signed by `ca`, or with `server` and `client` one
    for both ends (a cluster's routes); one still valid from this CA is kept."""
    ca_cert, ca_key = ca
    found = _load(pair)
    if found is not None and found[0].issuer == ca_cert.subject:
        try:
            found[0].verify_directly_issued_by(ca_cert)
            return pair
        except (ValueError, TypeError, InvalidSignature):
            pass
    key = ec.generate_private_key(ec.SECP256R1())
    usages = [ExtendedKeyUsageOID.SERVER_AUTH] if server else []
    if client or not server:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    builder = (
        _builder(_name(common), ca_cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    )
    if server:
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    _write(pair, builder.sign(ca_key, hashes.SHA256()), key)
    return pair

"""``gateway cert``: a self-signed localhost certificate that Safari, Brave and Chrome accept.

Browsers need the names in subjectAltName (CN is ignored), the serverAuth extended key usage,
and Safari refuses server certificates valid for more than 825 days. The certificate is its own
CA (CA:TRUE, keyCertSign) so it can be trusted directly in a system or browser store.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

MAX_DAYS = 825


@dataclass(frozen=True, slots=True)
class CertFiles:
    certfile: Path
    keyfile: Path
    not_after: datetime


def write_self_signed(
    out_dir: Path,
    *,
    days: int = MAX_DAYS,
    extra_names: tuple[str, ...] = (),
    name: str = "localhost",
) -> CertFiles:
    """Write ``<name>.crt`` and ``<name>.key`` (mode 600) into ``out_dir``."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be 1-{MAX_DAYS} (Safari rejects longer certificates)")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "gateway (self-signed)"),
        ]
    )
    not_before = datetime.now(UTC) - timedelta(minutes=5)  # tolerate small clock skew
    not_after = not_before + timedelta(days=days)  # Safari counts the whole validity period
    alt_names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    for extra in extra_names:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(extra)))
        except ValueError:
            alt_names.append(x509.DNSName(extra))
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=True,
                key_cert_sign=True,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    certfile, keyfile = out_dir / f"{name}.crt", out_dir / f"{name}.key"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
    return CertFiles(certfile, keyfile, not_after)

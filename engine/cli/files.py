"""The files a command names, read and written: messages ('-' is standard input or
output), outputs written whole or not at all, and the certificates, CRLs, passwords and
credentials (PEM, DER or PKCS#12, RFC 7292) a command loads from them.

An unreadable or unwritable file is a :class:`UsageError` naming it (exit 2).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.cli.arguments import UsageError

if TYPE_CHECKING:
    from cryptography import x509

    from engine.pki.credential import Credential


def read_input(path: str, what: str) -> bytes:
    """Read a file ('-' is standard input); unreadable files are usage errors."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        # Unbuffered readall: half the cost of Path.read_bytes for a mailbox of small files.
        with open(path, "rb", buffering=0) as file:
            return file.readall()
    except IsADirectoryError:
        raise UsageError(f"{what} as a file", "a directory", source=path) from None
    except FileNotFoundError:
        raise UsageError(f"{what} as an existing file", "no such file", source=path) from None
    except OSError as exc:
        raise UsageError(f"a readable {what}", exc.strerror or str(exc), source=path) from None


def write_output(path: str | None, data: bytes) -> None:
    """Write all of ``data`` or nothing: a temporary file renamed into place."""
    if path is None or path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    import stat

    from engine._internal.files import write_atomically

    try:
        target = os.stat(path)  # following links: what the user named
    except OSError:
        target = None
    try:
        if target is not None and (stat.S_ISCHR(target.st_mode) or stat.S_ISFIFO(target.st_mode)):
            # A device or pipe the user named (/dev/null, /dev/stdout, a FIFO): write into it.
            # Renaming a temporary file over it would replace the device node itself.
            with open(path, "wb") as handle:
                handle.write(data)
            return
        write_atomically(Path(path), data)
    except OSError as exc:
        raise UsageError("a writable output file", exc.strerror or str(exc), source=path) from None


def emit_json(document: Any) -> None:
    """One JSON document on standard output."""
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=False) + "\n")


def read_password(path: str | None) -> bytes | None:
    """The first line of the password file, without its line ending."""
    if path is None:
        return None
    lines = read_input(path, "password file").splitlines()
    if not lines or not lines[0]:
        raise UsageError("a password on the first line", "an empty password file", source=path)
    return lines[0]


def load_certs(paths: Sequence[str], what: str) -> list[x509.Certificate]:
    """Every certificate of every file (PEM bundles, DER)."""
    from engine.pki.credential import load_certificates

    certs: list[x509.Certificate] = []
    for path in paths:
        certs.extend(load_certificates(read_input(path, what), source=path))
    return certs


def load_crls(paths: Sequence[str]) -> list[x509.CertificateRevocationList]:
    """Every CRL of every file (PEM or DER)."""
    from engine.pki.credential import load_crls as parse_crls

    return [crl for path in paths for crl in parse_crls(read_input(path, "CRL"), source=path)]


def load_credential(
    cert: str | None, key: str | None, p12: str | None, password_file: str | None
) -> Credential:
    """A signer or recipient credential from --cert/--key (PEM, DER or PKCS#12) or --p12."""
    from engine.pki.credential import Credential, load_certificate, load_pkcs12
    from engine.pki.keys import load_private_key

    password = read_password(password_file)
    if p12 is not None:
        if key is not None:
            raise UsageError("either --p12 or --key", "both")
        return load_pkcs12(read_input(p12, "PKCS#12 file"), password, source=p12)
    if key is None:
        raise UsageError("--key with --cert, or --p12", "neither")
    key_bytes = read_input(key, "private key")
    if _looks_like_pkcs12(key_bytes):
        bundle = load_pkcs12(key_bytes, password, source=key)
        if cert is None:
            return bundle
        certificate = load_certificate(read_input(cert, "certificate"), source=cert)
        return Credential(
            certificate=certificate, private_key=bundle.private_key, chain=bundle.chain
        )
    if cert is None:
        raise UsageError("--cert with a PEM or DER --key", "no --cert")
    certificate = load_certificate(read_input(cert, "certificate"), source=cert)
    private_key = load_private_key(key_bytes, password, source=key)
    return Credential(certificate=certificate, private_key=private_key)


def _looks_like_pkcs12(data: bytes) -> bool:
    # A PFX is a DER SEQUENCE whose first element is INTEGER 3 (RFC 7292 §4).
    if data[:1] != b"\x30" or b"-----BEGIN" in data[:64]:
        return False
    from engine.cms.container import is_pfx

    return is_pfx(data)

"""A PKI the project did not make: CAs and mailboxes run with the ``openssl`` command line.

Keys come from ``openssl genpkey``, requests from ``openssl req`` and certificates from
``openssl ca`` with an extension file, at fixed dates (``-startdate``/``-enddate``), the
way a partner organization or an attacker would run a CA. Messages are signed with
``openssl cms -sign``. Nothing here goes through the engine.
"""

from __future__ import annotations

import dataclasses
import itertools
import subprocess
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509

# Every certificate is valid over this window; tests judge inside it.
START = "20260101000000Z"
END = "20310101000000Z"

_CONFIG = """\
[ ca ]
default_ca = ca_here

[ ca_here ]
database = {folder}/index.txt
new_certs_dir = {folder}
serial = {folder}/serial
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
email_in_dn = yes

[ anything ]
commonName = optional
emailAddress = optional
organizationName = optional
"""

_serials = itertools.count(0x1000)


def run(binary: str, *args: str | Path, stdin: bytes | None = None) -> bytes:
    """Run ``openssl``; fail the test with its stderr when it does not exit 0."""
    argv = [binary, *map(str, args)]
    done = subprocess.run(argv, input=stdin, capture_output=True, check=False)
    if done.returncode != 0:
        raise AssertionError(f"`{' '.join(argv)}` exited {done.returncode}: {done.stderr!r}")
    return done.stdout


@dataclasses.dataclass(frozen=True, slots=True)
class Issued:
    """A certificate ``openssl ca`` issued and the key file that goes with it."""

    cert: Path
    key: Path

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert.read_bytes())


class OpensslPKI:
    """Issues certificates with ``openssl ca`` into ``folder``."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def key(self, name: str, kind: str = "ec") -> Path:
        path = self.folder / f"{name}.key"
        if kind == "ec":
            options = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
        else:
            options = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
        run(self.binary, "genpkey", *options, "-out", path)
        return path

    def issue(
        self,
        name: str,
        subject: str,
        extensions: str,
        *,
        issuer: Issued | None = None,
        kind: str = "ec",
        key: Path | None = None,
    ) -> Issued:
        """A certificate for ``subject`` (``/CN=.../emailAddress=...``) with the
        ``extensions`` (extension-file lines); self-signed when ``issuer`` is None."""
        key = key or self.key(name, kind)
        request = self.folder / f"{name}.csr"
        run(self.binary, "req", "-new", "-key", key, "-subj", subject, "-out", request)
        work = self.folder / f"{name}.ca"
        work.mkdir()
        (work / "index.txt").write_text("")
        (work / "serial").write_text(f"{next(_serials):x}\n")
        config = work / "ca.cnf"
        config.write_text(_CONFIG.format(folder=work))
        extfile = work / "ext.cnf"
        extfile.write_text("[ ext ]\n" + extensions.strip() + "\n")
        cert = self.folder / f"{name}.pem"
        signer: list[str | Path]
        if issuer is None:
            signer = ["-selfsign", "-keyfile", key]
        else:
            signer = ["-cert", issuer.cert, "-keyfile", issuer.key]
        run(
            self.binary,
            "ca",
            "-batch",
            "-config",
            config,
            "-notext",
            "-preserveDN",
            "-startdate",
            START,
            "-enddate",
            END,
            "-extfile",
            extfile,
            "-extensions",
            "ext",
            *signer,
            "-in",
            request,
            "-out",
            cert,
        )
        return Issued(cert=cert, key=key)

    def sign(
        self,
        content: bytes,
        signer: Issued,
        *,
        chain: Sequence[Issued] = (),
        digest: str = "sha256",
        keyopts: Sequence[str] = (),
        sender: str | None = None,
    ) -> bytes:
        """``openssl cms -sign`` of a MIME entity (detached multipart/signed, CRLF line
        ends, the chain carried), with From: ``sender`` and a To: and Subject: when given."""
        args: list[str | Path] = ["cms", "-sign", "-signer", signer.cert, "-inkey", signer.key]
        args += ["-md", digest, "-crlfeol"]
        if sender is not None:
            args += ["-from", sender, "-to", "alice@contoso.example", "-subject", "invoice"]
        if chain:
            bundle = self.folder / f"chain-{signer.cert.stem}.pem"
            bundle.write_bytes(b"".join(c.cert.read_bytes() for c in chain))
            args += ["-certfile", bundle]
        for option in keyopts:
            args += ["-keyopt", option]
        return run(self.binary, *args, stdin=content)

    def verify(self, message: bytes, anchor: Issued, at: int) -> subprocess.CompletedProcess[bytes]:
        """``openssl cms -verify`` at the Unix time ``at``: OpenSSL's own verdict."""
        argv = [self.binary, "cms", "-verify", "-CAfile", str(anchor.cert), "-attime", str(at)]
        argv += ["-purpose", "smimesign", "-out", "/dev/null"]
        return subprocess.run(argv, input=message, capture_output=True, check=False)


CA_EXTENSIONS = """
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
"""

MAILBOX_EXTENSIONS = """
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment, keyAgreement
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""

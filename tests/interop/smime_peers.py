"""The real peers the engine must interoperate with: ``openssl cms`` and ``gpgsm``.

Each peer is a thin runner over its command line. Every call checks the exit
status and, when it is not the expected one, fails with the peer's stderr in
the message, so a failing interop test says what the peer complained about.
Both peers judge certificates at a fixed instant (``openssl -attime``,
``gpgsm --faked-system-time``), never at the wall clock, like the engine.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from engine.pki.credential import Credential
from engine.pki.keys import private_key_pem

Arg = str | Path


def find_binary(name: str) -> str | None:
    return shutil.which(name)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PeerRun:
    """One finished peer command: what was run and what it said."""

    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self) -> str:
        return f"`{' '.join(self.argv)}` exited {self.returncode}: {self.stderr.strip()}"


class PeerError(AssertionError):
    """A peer command did not end as the test expected (an assertion failure, not an error)."""


def _run(
    argv: Sequence[Arg],
    *,
    stdin: bytes | None,
    env: dict[str, str] | None,
    check: bool,
    timeout: float = 60,
) -> PeerRun:
    args = tuple(str(a) for a in argv)
    completed = subprocess.run(
        args, input=stdin, capture_output=True, env=env, timeout=timeout, check=False
    )
    run = PeerRun(
        argv=args,
        returncode=completed.returncode,
        stdout=completed.stdout,
        stderr=completed.stderr.decode("utf-8", "replace"),
    )
    if check and not run.ok:
        raise PeerError(run.describe())
    return run


class Workspace:
    """A folder for the files a peer reads and writes, with unique names."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self._counter = itertools.count()

    def path(self, name: str) -> Path:
        stem, dot, suffix = name.partition(".")
        return self.folder / f"{stem}-{next(self._counter)}{dot}{suffix}"

    def write(self, name: str, data: bytes) -> Path:
        path = self.path(name)
        path.write_bytes(data)
        return path

    def certificates(self, name: str, certs: Sequence[x509.Certificate]) -> Path:
        return self.write(name, b"".join(pem(c) for c in certs))


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def sha1_fingerprint(certificate: x509.Certificate) -> str:
    """The upper-case hex SHA-1 fingerprint gpgsm names certificates by."""
    return certificate.fingerprint(hashes.SHA1()).hex().upper()


class OpenSSL:
    """``openssl cms`` with the files it needs written to a workspace."""

    def __init__(self, binary: str, workspace: Workspace, *, at: dt.datetime) -> None:
        self.binary = binary
        self.workspace = workspace
        self.at = at

    def cms(self, *args: Arg, stdin: bytes | None = None, check: bool = True) -> PeerRun:
        return _run([self.binary, "cms", *args], stdin=stdin, env=None, check=check)

    def credential_files(self, credential: Credential) -> tuple[Path, Path]:
        cert = self.workspace.write("cert.pem", pem(credential.certificate))
        key = self.workspace.write("key.pem", private_key_pem(credential.private_key))
        return cert, key

    # -- verification and decryption of what the engine produced -------------------------

    def verify(
        self,
        message: bytes,
        *,
        anchors: Sequence[x509.Certificate],
        inform: str = "SMIME",
        content: bytes | None = None,
        crls: Sequence[x509.CertificateRevocationList] = (),
        check: bool = True,
    ) -> PeerRun:
        """``openssl cms -verify``; stdout is the signed content.

        With ``crls`` the signer's certificate is checked against them (``-crl_check``);
        ``openssl cms`` has no -CRLfile, but reads CRLs from the -CAfile.
        """
        pems = b"".join(pem(c) for c in anchors)
        pems += b"".join(c.public_bytes(serialization.Encoding.PEM) for c in crls)
        ca = self.workspace.write("anchors.pem", pems)
        args: list[Arg] = ["-verify", "-inform", inform, "-CAfile", ca]
        args += ["-attime", str(int(self.at.timestamp())), "-purpose", "smimesign"]
        if crls:
            args.append("-crl_check")
        if content is not None:
            args += ["-content", self.workspace.write("content.bin", content), "-binary"]
        return self.cms(*args, stdin=message, check=check)

    def decrypt(
        self, message: bytes, recipient: Credential, *, inform: str = "SMIME", check: bool = True
    ) -> PeerRun:
        """``openssl cms -decrypt``; stdout is the decrypted content, byte for byte."""
        cert, key = self.credential_files(recipient)
        args: list[Arg] = ["-decrypt", "-inform", inform, "-recip", cert, "-inkey", key]
        return self.cms(*args, "-binary", stdin=message, check=check)

    # -- messages openssl produces for the engine ------------------------------------------

    def sign(
        self,
        content: bytes,
        signer: Credential,
        *,
        detached: bool = True,
        digest: str = "sha256",
        keyopts: Sequence[str] = (),
        headers: dict[str, str] | None = None,
        outform: str = "SMIME",
        crlfeol: bool = False,
        flags: Sequence[str] = (),
        command: str = "cms",
        binary: bool = True,
    ) -> bytes:
        """``openssl cms -sign`` of a MIME entity (``-binary``: signed exactly as given;
        without it openssl signs the entity in canonical CRLF form).

        openssl writes S/MIME with LF line ends unless ``crlfeol``; ``flags`` such as
        ``-stream`` (BER indefinite lengths) or ``-keyid`` are passed on as they are.
        ``command="smime"`` uses the legacy PKCS #7 command, which labels its output
        ``application/x-pkcs7-*``.
        """
        cert, key = self.credential_files(signer)
        args: list[Arg] = ["-sign", "-signer", cert, "-inkey", key, "-md", digest]
        if binary:
            args.append("-binary")
        if signer.chain:
            args += ["-certfile", self.workspace.certificates("chain.pem", signer.chain)]
        if not detached:
            args.append("-nodetach")
        for option in keyopts:
            args += ["-keyopt", option]
        args += ["-outform", outform, *_header_args(headers)]
        if crlfeol:
            args.append("-crlfeol")
        return self._command(command, *args, *flags, stdin=content).stdout

    def encrypt(
        self,
        content: bytes,
        recipients: Sequence[x509.Certificate],
        *,
        cipher: str = "aes256",
        keyopts: Sequence[str] = (),
        keyid: bool = False,
        headers: dict[str, str] | None = None,
        outform: str = "SMIME",
        flags: Sequence[str] = (),
        command: str = "cms",
    ) -> bytes:
        """``openssl cms -encrypt``; ``keyopts`` apply to every recipient.

        ``command="smime"``: the legacy PKCS #7 command (recipients as arguments).
        """
        args: list[Arg] = ["-encrypt", "-binary", f"-{cipher}", *flags]
        if keyid:
            args.append("-keyid")
        files = [self.workspace.write("recipient.pem", pem(c)) for c in recipients]
        if command == "cms":
            for path in files:
                args += ["-recip", path]
                for option in keyopts:
                    args += ["-keyopt", option]
        args += ["-outform", outform, *_header_args(headers)]
        if command != "cms":
            args += files
        return self._command(command, *args, stdin=content).stdout

    def _command(self, command: str, *args: Arg, stdin: bytes) -> PeerRun:
        if command not in ("cms", "smime"):
            raise ValueError(f"{command=}, but only cms or smime are openssl S/MIME commands")
        return _run([self.binary, command, *args], stdin=stdin, env=None, check=True)

    def print_structure(self, message: bytes, *, inform: str = "SMIME") -> str:
        """``openssl cms -cmsout -print``: the parsed structure, for assertions on algorithms."""
        run = self.cms("-cmsout", "-print", "-inform", inform, stdin=message)
        return run.stdout.decode("utf-8", "replace")


def _header_args(headers: dict[str, str] | None) -> list[str]:
    args: list[str] = []
    for name, value in (headers or {}).items():
        option = {"From": "-from", "To": "-to", "Subject": "-subject"}[name]
        args += [option, value]
    return args


@dataclasses.dataclass(frozen=True, slots=True)
class Status:
    """One ``[GNUPG:] KEYWORD args`` line of gpgsm's --status-fd output."""

    keyword: str
    args: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GpgsmRun:
    run: PeerRun
    status: tuple[Status, ...]

    def keywords(self) -> list[str]:
        return [s.keyword for s in self.status]

    def first(self, keyword: str) -> Status | None:
        return next((s for s in self.status if s.keyword == keyword), None)

    def describe(self) -> str:
        return f"{self.run.describe()}\nstatus: {self.keywords()}"


def _parse_status(text: str) -> tuple[Status, ...]:
    found: list[Status] = []
    for line in text.splitlines():
        if line.startswith("[GNUPG:] "):
            keyword, *args = line[len("[GNUPG:] ") :].split(" ")
            found.append(Status(keyword, tuple(args)))
    return tuple(found)


class Gpgsm:
    """A gpgsm home of its own: its trust list, imported certificates and secret keys.

    Status lines go to stderr (``--status-fd 2``) next to the messages; data goes to files.
    Secret keys are imported from (legacy-encrypted) PKCS#12 under one passphrase,
    which gpgsm keeps them protected with; it is fed through ``--passphrase-fd 0``
    with ``--pinentry-mode loopback``.
    """

    PASSPHRASE = b"interop-passphrase"

    def __init__(self, binary: str, home: Path, workspace: Workspace, *, at: dt.datetime) -> None:
        self.binary = binary
        self.home = home
        self.workspace = workspace
        self.at = at
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        (home / "gpg-agent.conf").write_text(
            "allow-loopback-pinentry\ns2k-count 65536\n"  # cheap key protection: test keys
        )
        (home / "gpgsm.conf").write_text(
            "disable-crl-checks\ndisable-policy-checks\ndisable-dirmngr\n"
        )
        (home / "trustlist.txt").write_text("")
        self.env = {**os.environ, "GNUPGHOME": str(home), "LC_ALL": "C"}

    def run(
        self, *args: Arg, passphrase: bool = False, check: bool = True, expect_status: str = ""
    ) -> GpgsmRun:
        argv: list[Arg] = [self.binary, "--batch", "--no-tty", "--status-fd", "2"]
        argv += ["--faked-system-time", self.at.strftime("%Y%m%dT%H%M%S")]
        stdin = None
        if passphrase:
            argv += ["--pinentry-mode", "loopback", "--passphrase-fd", "0"]
            stdin = self.PASSPHRASE + b"\n"
        run = _run([*argv, *args], stdin=stdin, env=self.env, check=False)
        result = GpgsmRun(run=run, status=_parse_status(run.stderr))
        if check and not run.ok:
            raise PeerError(result.describe())
        if expect_status and expect_status not in result.keywords():
            raise PeerError(f"expected status {expect_status}; {result.describe()}")
        return result

    # -- trust and key material ------------------------------------------------------------

    def trust(self, root: x509.Certificate) -> None:
        """Import a root and mark it trusted for S/MIME (``S``); no ``relax``: the CA's
        certificates must pass gpgsm's strict checks."""
        self.import_certificates([root])
        with (self.home / "trustlist.txt").open("a") as handle:
            handle.write(f"{sha1_fingerprint(root)} S\n")

    def import_certificates(self, certs: Sequence[x509.Certificate]) -> None:
        self.run("--import", self.workspace.certificates("import.pem", certs))

    # gpgsm 2.2's PKCS#12 KDF (RFC 7292 App. B.2 step 6C) writes I_j + B + 1 back with
    # gcry_mpi_print, which drops a leading zero byte: for about 1 salt in 128 it derives the
    # wrong 3DES key and reports "decryption failed; trying charset ..." for a file OpenSSL
    # reads. The salt is random per export, so a fresh export imports.
    MISDERIVED_KEY = "decryption failed; trying charset"
    IMPORT_ATTEMPTS = 6

    def import_credential(self, credential: Credential) -> None:
        """Import certificate, chain and secret key as legacy PKCS#12 (what gpgsm 2.2 reads).

        Only gpgsm's misderived-key symptom is retried, with a new export (a new salt); any
        other failure, or the symptom six times over (odds ~1e-13), fails the test.
        """
        for _ in range(self.IMPORT_ATTEMPTS - 1):
            p12 = credential.to_pkcs12(self.PASSPHRASE, legacy=True)
            path = self.workspace.write("credential.p12", p12)
            result = self.run("--import", path, passphrase=True, check=False)
            if result.run.ok:
                return
            if self.MISDERIVED_KEY not in result.run.stderr:
                raise PeerError(result.describe())
        p12 = credential.to_pkcs12(self.PASSPHRASE, legacy=True)
        self.run("--import", self.workspace.write("credential.p12", p12), passphrase=True)

    # -- operations --------------------------------------------------------------------------

    def verify_detached(self, signature: bytes, content: bytes, *, check: bool = True) -> GpgsmRun:
        sig = self.workspace.write("signature.der", signature)
        data = self.workspace.write("signed.bin", content)
        return self.run("--verify", sig, data, check=check)

    def verify_opaque(self, signed: bytes, *, check: bool = True) -> tuple[GpgsmRun, bytes]:
        sig = self.workspace.write("signed.der", signed)
        out = self.workspace.path("content.bin")
        result = self.run("--output", out, "--verify", sig, check=check)
        return result, out.read_bytes() if out.exists() else b""

    def sign(
        self,
        content: bytes,
        signer: x509.Certificate,
        *,
        detached: bool = True,
        include_certs: int = -1,
    ) -> bytes:
        """``--include-certs``: -1 the whole chain, -2 (gpgsm's default) all but the root,
        n the first n certificates from the signer up."""
        data = self.workspace.write("content.bin", content)
        out = self.workspace.path("signature.der")
        mode = "--detach-sign" if detached else "--sign"
        self.run(
            "--local-user",
            sha1_fingerprint(signer),
            "--include-certs",
            str(include_certs),
            "--output",
            out,
            mode,
            data,
            passphrase=True,
            expect_status="SIG_CREATED",
        )
        return out.read_bytes()

    def encrypt(
        self, content: bytes, recipients: Sequence[x509.Certificate], *, cipher: str = "AES256"
    ) -> bytes:
        data = self.workspace.write("plain.bin", content)
        out = self.workspace.path("enveloped.der")
        args: list[Arg] = ["--cipher-algo", cipher, "--output", out]
        for cert in recipients:
            args += ["--recipient", sha1_fingerprint(cert)]
        self.run(*args, "--encrypt", data)
        return out.read_bytes()

    def decrypt(self, enveloped: bytes, *, check: bool = True) -> tuple[GpgsmRun, bytes]:
        data = self.workspace.write("enveloped.der", enveloped)
        out = self.workspace.path("decrypted.bin")
        result = self.run("--output", out, "--decrypt", data, passphrase=True, check=check)
        return result, out.read_bytes() if out.exists() else b""

    def close(self) -> None:
        gpgconf = find_binary("gpgconf")
        if gpgconf:
            _run([gpgconf, "--kill", "all"], stdin=None, env=self.env, check=False)

"""One benchmark run: the engine against the primitive floor and its peers.

Usage::

    python benchmarks/bench.py            # full run (several minutes)
    python benchmarks/bench.py --quick    # small sizes, few repeats (< 60 s)
    python benchmarks/bench.py --json bench.json

Every row is timed in this one process and run, so the ratios compare like
with like on a noisy machine. For each operation and size it prints the
engine's median time and ``engine / X`` for each X:

* ``floor``: the same RSA, AES and SHA-256 operations (and, for a
  verification with chain, the same ``cryptography.x509.verification`` path
  build) called directly through ``cryptography``, with no DER, MIME or
  base64 around them. A ratio of 1.3 means the engine spends 30 % on top of
  the cryptography it cannot avoid.
* ``cryptography``: ``cryptography``'s PKCS #7 builders with S/MIME output
  and ``pkcs7_decrypt_smime`` (it has no S/MIME verification).
* ``openssl``: ``openssl cms``, one process per message, as a script would
  call it.

A ratio below 1 means the engine is faster. The feature suite is generated
from a template (10 users per scenario) and run through the same runner as
``smime-harness run``. Nothing here asserts a time: the numbers are for
reading, not for tests.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import inspect
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509 import verification

from engine.cli.pool import available_cpus
from engine.clock import FixedClock
from engine.pki.authority import OrgCA
from engine.pki.credential import Credential
from engine.pki.keys import KeyPool, default_cache_dir, private_key_pem
from engine.smime.decryption import decrypt
from engine.smime.encryption import encrypt
from engine.smime.signing import sign
from engine.smime.verification import verify

EPOCH = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
KIB = 1024
MIB = 1024 * KIB
REPO = Path(__file__).resolve().parent.parent


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    sizes: tuple[int, ...]
    recipients: tuple[int, ...]
    scenarios: tuple[int, ...]
    batch: int  # messages in the batch verification
    distinct: int  # distinct messages a row cycles through below 1 MiB
    budget: float  # seconds of repeats per measurement (at least 3 runs)
    openssl_budget: float


FULL = Settings(
    sizes=(KIB, 10 * KIB, 100 * KIB, 10 * MIB),
    recipients=(1, 2, 10, 100),
    scenarios=(20, 200, 2000),
    batch=1000,
    budget=0.6,
    openssl_budget=0.6,
    # More than the engine's largest per-message cache holds, so no timed call meets bytes
    # it has seen: a mailbox repeats signers and recipients, not messages.
    distinct=1200,
)
QUICK = Settings(
    sizes=(KIB, 10 * KIB),
    recipients=(1, 2, 10),
    scenarios=(10,),
    batch=20,
    budget=0.03,
    openssl_budget=0.0,
    distinct=8,
)


# --- timing -----------------------------------------------------------------------------


def median_ms(
    func: Callable[[], object], budget: float, *, least: int = 3, most: int = 500
) -> float:
    """The median of repeated runs, after one warm-up run, in milliseconds."""
    func()
    times: list[float] = []
    spent = 0.0
    while len(times) < least or (spent < budget and len(times) < most):
        started = time.perf_counter()
        func()
        elapsed = time.perf_counter() - started
        times.append(elapsed)
        spent += elapsed
    return statistics.median(times) * 1000


@dataclasses.dataclass(slots=True, kw_only=True)
class Row:
    operation: str
    size: int | None
    recipients: int | None
    engine_ms: float
    floor_ms: float | None = None
    cryptography_ms: float | None = None
    openssl_ms: float | None = None
    note: str = ""

    def ratio(self, peer: float | None) -> float | None:
        return None if peer is None or peer == 0 else self.engine_ms / peer

    def view(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "size": self.size,
            "recipients": self.recipients,
            "engine_ms": round(self.engine_ms, 4),
            "floor_ms": _round(self.floor_ms),
            "cryptography_ms": _round(self.cryptography_ms),
            "openssl_ms": _round(self.openssl_ms),
            "engine_per_floor": _round(self.ratio(self.floor_ms)),
            "engine_per_cryptography": _round(self.ratio(self.cryptography_ms)),
            "engine_per_openssl": _round(self.ratio(self.openssl_ms)),
            "note": self.note,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# --- the PKI and the messages -------------------------------------------------------------


@dataclasses.dataclass(slots=True, kw_only=True)
class Pki:
    clock: FixedClock
    ca: OrgCA
    signer: Credential
    recipients: list[Credential]  # recipients[0] decrypts in the single-recipient rows
    folder: Path

    @property
    def anchors(self) -> list[x509.Certificate]:
        return [self.ca.root]


def build_pki(count: int, folder: Path) -> Pki:
    clock = FixedClock(EPOCH)
    pool = KeyPool(Path(os.environ.get("SMIME_HARNESS_KEY_CACHE") or default_cache_dir()))
    ca = OrgCA.create("Contoso", "contoso.example", clock=clock, keys=pool, intermediate=True)

    def enroll(name: str) -> Credential:
        address = f"{name}@contoso.example"
        return ca.enroll(address, ca.issue_token(address).secret).signing

    signer = enroll("alice")
    recipients = [enroll(f"user{i:03d}") for i in range(count)]
    return Pki(clock=clock, ca=ca, signer=signer, recipients=recipients, folder=folder)


def message(size: int) -> bytes:
    line = b"The quick brown fox jumps over the lazy dog, 0123456789 times.\r\n"
    body = (line * (size // len(line) + 1))[:size]
    head = (
        b"From: alice@contoso.example\r\nTo: user000@contoso.example\r\n"
        b"Subject: benchmark\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
    )
    return head + body


def variant(msg: bytes, index: int) -> bytes:
    """``msg`` with its body made unique by ``index``."""
    return msg.replace(b"\r\n\r\n", f"\r\n\r\nMessage {index}\r\n".encode(), 1)


class Cycle:
    """Hands out its items in turn, round and round."""

    def __init__(self, items: Sequence[bytes]) -> None:
        self.items = list(items)
        self.index = 0

    def next(self) -> bytes:
        item = self.items[self.index % len(self.items)]
        self.index += 1
        return item


def distinct_signed(pki: Pki, msg: bytes, first: int, count: int) -> list[bytes]:
    """``count`` signed variants of ``msg``, each with its own body and signing time."""
    return [
        sign(
            variant(msg, index),
            pki.signer,
            clock=FixedClock(EPOCH + dt.timedelta(seconds=index)),
        )
        for index in range(first, first + count)
    ]


def _entity(size: int) -> bytes:
    """The MIME entity the peers sign and encrypt (they do not split RFC 5322 headers)."""
    return message(size).split(b"\r\n\r\n", 1)[1]


# --- the floor: the same primitives, called directly ------------------------------------------


class Floor:
    def __init__(self, pki: Pki) -> None:
        self.pki = pki
        key = pki.signer.private_key
        assert isinstance(key, rsa.RSAPrivateKey)
        self.sign_key = key
        self.public_keys = [_rsa_public(c.certificate) for c in pki.recipients]
        recipient_key = pki.recipients[0].private_key
        assert isinstance(recipient_key, rsa.RSAPrivateKey)
        self.recipient_key = recipient_key
        self.signer_public = _rsa_public(pki.signer.certificate)
        # The signed attributes the engine covers are about this long.
        self.attributes = bytes(range(256)) + bytes(180)
        self.certificate_ders = [
            c.public_bytes(serialization.Encoding.DER)
            for c in (pki.signer.certificate, *pki.signer.chain)
        ]

    def sign(self, content: bytes) -> tuple[bytes, bytes]:
        digest = hashes.Hash(hashes.SHA256())
        digest.update(content)
        digest.finalize()
        signature = self.sign_key.sign(self.attributes, asym_padding.PKCS1v15(), hashes.SHA256())
        return content, signature

    def verify(self, signed: tuple[bytes, bytes]) -> None:
        content, signature = signed
        digest = hashes.Hash(hashes.SHA256())
        digest.update(content)
        digest.finalize()
        certificates = [x509.load_der_x509_certificate(der) for der in self.certificate_ders]
        leaf_key = _rsa_public(certificates[0])
        leaf_key.verify(signature, self.attributes, asym_padding.PKCS1v15(), hashes.SHA256())
        permit = verification.ExtensionPolicy.permit_all()
        ca_policy = permit.require_present(
            x509.BasicConstraints, verification.Criticality.AGNOSTIC, None
        )
        verifier = (
            verification.PolicyBuilder()
            .store(verification.Store(self.pki.anchors))
            .time(EPOCH)
            .extension_policies(ca_policy=ca_policy, ee_policy=permit)
            .build_client_verifier()
        )
        verifier.verify(certificates[0], certificates[1:])

    def encrypt(self, content: bytes, count: int) -> tuple[list[bytes], bytes, bytes]:
        cek, iv = os.urandom(32), os.urandom(16)
        keys = [k.encrypt(cek, asym_padding.PKCS1v15()) for k in self.public_keys[:count]]
        padder = padding.PKCS7(128).padder()
        encryptor = Cipher(algorithms.AES(cek), modes.CBC(iv)).encryptor()
        data = padder.update(content) + padder.finalize()
        return keys, iv, encryptor.update(data) + encryptor.finalize()

    def decrypt(self, enveloped: tuple[list[bytes], bytes, bytes]) -> bytes:
        keys, iv, data = enveloped
        cek = self.recipient_key.decrypt(keys[0], asym_padding.PKCS1v15())
        decryptor = Cipher(algorithms.AES(cek), modes.CBC(iv)).decryptor()
        unpadder = padding.PKCS7(128).unpadder()
        padded = decryptor.update(data) + decryptor.finalize()
        return unpadder.update(padded) + unpadder.finalize()


def _rsa_public(certificate: x509.Certificate) -> rsa.RSAPublicKey:
    key = certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    return key


# --- cryptography's PKCS #7 S/MIME builders -----------------------------------------------------


class CryptographyPeer:
    def __init__(self, pki: Pki) -> None:
        self.pki = pki

    def sign(self, entity: bytes) -> bytes:
        key = self.pki.signer.private_key
        builder = (
            pkcs7.PKCS7SignatureBuilder()
            .set_data(entity)
            .add_signer(self.pki.signer.certificate, key, hashes.SHA256())
        )
        for certificate in self.pki.signer.chain:
            builder = builder.add_certificate(certificate)
        return builder.sign(serialization.Encoding.SMIME, [pkcs7.PKCS7Options.DetachedSignature])

    def encrypt(self, entity: bytes, count: int) -> bytes:
        builder = pkcs7.PKCS7EnvelopeBuilder().set_data(entity)
        builder = builder.set_content_encryption_algorithm(algorithms.AES256)
        for credential in self.pki.recipients[:count]:
            builder = builder.add_recipient(credential.certificate)
        return builder.encrypt(serialization.Encoding.SMIME, [])

    def decrypt(self, data: bytes) -> bytes:
        recipient = self.pki.recipients[0]
        key = recipient.private_key
        assert isinstance(key, rsa.RSAPrivateKey)
        return pkcs7.pkcs7_decrypt_smime(data, recipient.certificate, key, [])


# --- openssl cms, one process per message -----------------------------------------------------


class OpenSSLPeer:
    def __init__(self, pki: Pki, binary: str) -> None:
        self.binary = binary
        folder = pki.folder / "openssl"
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder

        def pem(name: str, data: bytes) -> str:
            path = folder / name
            path.write_bytes(data)
            return str(path)

        as_pem = serialization.Encoding.PEM
        self.signer_cert = pem("signer.pem", pki.signer.certificate.public_bytes(as_pem))
        self.signer_key = pem("signer.key", private_key_pem(pki.signer.private_key))
        self.chain = pem("chain.pem", b"".join(c.public_bytes(as_pem) for c in pki.signer.chain))
        self.root = pem("root.pem", pki.ca.root.public_bytes(as_pem))
        self.recipient_certs = [
            pem(f"r{i}.pem", c.certificate.public_bytes(as_pem))
            for i, c in enumerate(pki.recipients)
        ]
        self.recipient_key = pem("r0.key", private_key_pem(pki.recipients[0].private_key))
        self.attime = str(int(EPOCH.timestamp()))

    def run(self, *args: str, data: bytes) -> bytes:
        done = subprocess.run(
            [self.binary, "cms", *args], input=data, capture_output=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"openssl cms {args[0]} failed: {done.stderr.decode()[-300:]}")
        return done.stdout

    def sign(self, entity: bytes) -> bytes:
        args = ["-sign", "-signer", self.signer_cert, "-inkey", self.signer_key]
        return self.run(*args, "-certfile", self.chain, "-md", "sha256", "-binary", data=entity)

    def verify(self, signed: bytes) -> bytes:
        args = ["-verify", "-CAfile", self.root, "-attime", self.attime, "-purpose", "smimesign"]
        return self.run(*args, data=signed)

    def verify_file(self, path: Path) -> None:
        args = ["-verify", "-CAfile", self.root, "-attime", self.attime, "-purpose", "smimesign"]
        subprocess.run(
            [self.binary, "cms", *args, "-in", str(path), "-out", os.devnull],
            capture_output=True,
            check=True,
        )

    def encrypt(self, entity: bytes, count: int) -> bytes:
        certificates = self.recipient_certs[:count]
        return self.run("-encrypt", "-aes256", "-binary", *certificates, data=entity)

    def decrypt(self, enveloped: bytes) -> bytes:
        args = ["-decrypt", "-recip", self.recipient_certs[0], "-inkey", self.recipient_key]
        return self.run(*args, "-binary", data=enveloped)


# --- the message benchmarks -------------------------------------------------------------------


def message_rows(
    pki: Pki, sizes: Sequence[int], counts: Sequence[int], settings: Settings, say: Say
) -> list[Row]:
    floor = Floor(pki)
    peer = CryptographyPeer(pki)
    binary = shutil.which("openssl")
    ossl = OpenSSLPeer(pki, binary) if binary else None
    rows: list[Row] = []
    for size in sizes:
        for row in _size_rows(pki, size, counts, settings, floor, peer, ossl):
            rows.append(row)
            say(_row_line(row))
    return rows


def _size_rows(
    pki: Pki,
    size: int,
    counts: Sequence[int],
    settings: Settings,
    floor: Floor,
    peer: CryptographyPeer,
    ossl: OpenSSLPeer | None,
) -> Iterator[Row]:
    signer, clock, anchors = pki.signer, pki.clock, pki.anchors
    decrypting = pki.recipients[0]
    msg, entity = message(size), _entity(size)
    budget = settings.budget if size < MIB else max(settings.budget, 1.5)
    distinct = settings.distinct if size < MIB else 4
    to_sign = Cycle([variant(msg, index) for index in range(distinct)])

    def time_engine(func: Callable[[], object]) -> float:
        return median_ms(func, budget)

    def time_openssl(func: Callable[[], object]) -> float | None:
        return None if ossl is None else median_ms(func, settings.openssl_budget)

    def engine_sign() -> bytes:
        return sign(to_sign.next(), signer, clock=clock)

    def engine_verify(data: bytes) -> None:
        result = verify(data, anchors=anchors, at=EPOCH)
        assert result.status == "valid", result.reasons

    def engine_sign_encrypt() -> bytes:
        return _encrypt(pki, engine_sign(), 2)

    def engine_decrypt_verify(data: bytes) -> None:
        engine_verify(decrypt(data, decrypting).content)

    signed = Cycle(distinct_signed(pki, msg, 0, distinct))
    floor_signed = floor.sign(entity)
    yield Row(
        operation="sign",
        size=size,
        recipients=None,
        engine_ms=time_engine(engine_sign),
        floor_ms=time_engine(partial(floor.sign, entity)),
        cryptography_ms=time_engine(partial(peer.sign, entity)),
        openssl_ms=time_openssl(lambda: ossl and ossl.sign(entity)),
    )
    openssl_signed = ossl.sign(entity) if ossl else b""
    yield Row(
        operation="verify (chain)",
        size=size,
        recipients=None,
        engine_ms=time_engine(lambda: engine_verify(signed.next())),
        floor_ms=time_engine(partial(floor.verify, floor_signed)),
        openssl_ms=time_openssl(lambda: ossl and ossl.verify(openssl_signed)),
        note="cryptography has no S/MIME verification",
    )
    for count in counts:
        yield Row(
            operation="encrypt",
            size=size,
            recipients=count,
            engine_ms=time_engine(partial(_encrypt, pki, msg, count)),
            floor_ms=time_engine(partial(floor.encrypt, entity, count)),
            cryptography_ms=time_engine(partial(peer.encrypt, entity, count)),
            openssl_ms=time_openssl(partial(_openssl_encrypt, ossl, entity, count)),
        )
    enveloped = _encrypt(pki, msg, 2)
    floor_enveloped = floor.encrypt(entity, 2)
    peer_enveloped = peer.encrypt(entity, 2)
    openssl_enveloped = ossl.encrypt(entity, 2) if ossl else b""
    yield Row(
        operation="decrypt",
        size=size,
        recipients=2,
        engine_ms=time_engine(partial(decrypt, enveloped, decrypting)),
        floor_ms=time_engine(partial(floor.decrypt, floor_enveloped)),
        cryptography_ms=time_engine(partial(peer.decrypt, peer_enveloped)),
        openssl_ms=time_openssl(lambda: ossl and ossl.decrypt(openssl_enveloped)),
    )
    yield Row(
        operation="sign+encrypt",
        size=size,
        recipients=2,
        engine_ms=time_engine(engine_sign_encrypt),
        floor_ms=time_engine(lambda: floor.encrypt(floor.sign(entity)[0], 2)),
        cryptography_ms=time_engine(lambda: peer.encrypt(peer.sign(entity), 2)),
        openssl_ms=time_openssl(lambda: ossl and ossl.encrypt(ossl.sign(entity), 2)),
    )
    both = Cycle([_encrypt(pki, m, 2) for m in distinct_signed(pki, msg, distinct, distinct)])
    floor_both = floor.encrypt(floor.sign(entity)[0], 2)
    signature = floor.sign(entity)[1]
    openssl_both = ossl.encrypt(ossl.sign(entity), 2) if ossl else b""
    yield Row(
        operation="decrypt+verify (chain)",
        size=size,
        recipients=2,
        engine_ms=time_engine(lambda: engine_decrypt_verify(both.next())),
        floor_ms=time_engine(lambda: floor.verify((floor.decrypt(floor_both), signature))),
        openssl_ms=time_openssl(lambda: ossl and ossl.verify(ossl.decrypt(openssl_both))),
        note="cryptography has no S/MIME verification",
    )


def _openssl_encrypt(ossl: OpenSSLPeer | None, entity: bytes, count: int) -> bytes:
    return ossl.encrypt(entity, count) if ossl else b""


def _encrypt(pki: Pki, data: bytes, count: int) -> bytes:
    return encrypt(data, [c.certificate for c in pki.recipients[:count]])


def memory_rows(pki: Pki, size: int, say: Say) -> list[dict[str, Any]]:
    """Peak Python memory (tracemalloc) and throughput for one large message."""
    msg = message(size)
    signer, clock, anchors = pki.signer, pki.clock, pki.anchors
    recipients = [c.certificate for c in pki.recipients[:2]]
    out = []

    def sign_encrypt() -> bytes:
        return encrypt(sign(msg, signer, clock=clock), recipients)

    both = sign_encrypt()

    def decrypt_verify() -> None:
        inner = decrypt(both, pki.recipients[0]).content
        result = verify(inner, anchors=anchors, at=EPOCH)
        assert result.status == "valid", result.reasons

    for name, func in (("sign+encrypt", sign_encrypt), ("decrypt+verify (chain)", decrypt_verify)):
        gc.collect()
        tracemalloc.start()
        started = time.perf_counter()
        func()
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        seconds = median_ms(func, 2.0, least=3, most=7) / 1000
        entry = {
            "operation": name,
            "size": size,
            "median_ms": round(seconds * 1000, 2),
            "mb_per_s": round(size / seconds / 1e6, 1),
            "peak_bytes": peak,
            "peak_per_size": round(peak / size, 2),
            "traced_run_ms": round(elapsed * 1000, 1),
        }
        out.append(entry)
        say(
            f"{name:<24} {_size(size):>8}  {entry['median_ms']:>9.1f} ms  "
            f"{entry['mb_per_s']:>7.1f} MB/s  peak {peak / MIB:7.1f} MiB "
            f"({entry['peak_per_size']:.2f}x the message)"
        )
    return out


# --- batch verification and the command line -------------------------------------------------


def batch_row(pki: Pki, count: int, say: Say) -> dict[str, Any]:
    """``smime-harness verify`` of ``count`` 10 KiB messages in one command, serial (``-j 1``)
    and with one worker process per CPU (``-j auto``), against one ``openssl cms -verify``
    process per message."""
    folder = pki.folder / "batch"
    folder.mkdir(exist_ok=True)
    files = []
    # Distinct bodies and signing times, a mailbox rather than one message a thousand
    # times: the engine's caches see only what really repeats, the signer.
    for index, signed in enumerate(distinct_signed(pki, message(10 * KIB), 0, count)):
        path = folder / f"m{index:04d}.eml"
        path.write_bytes(signed)
        files.append(path)
    if len({path.read_bytes() for path in files}) != count:
        raise RuntimeError("batch verify: the generated messages are not distinct")
    root = folder / "root.pem"
    root.write_bytes(pki.ca.root.public_bytes(serialization.Encoding.PEM))
    command = [*_cli(), "verify", "--trust", str(root), "--at", EPOCH.isoformat()]
    load_before = os.getloadavg()

    def timed(jobs: str) -> tuple[float, bytes]:
        started = time.perf_counter()
        done = subprocess.run(
            [*command, "-j", jobs, *map(str, files)], capture_output=True, check=False
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"batch verify -j {jobs} failed: {done.stderr.decode()[-300:]}")
        return seconds, done.stdout

    # Three runs of each, interleaved so that a burst of load hits both alike; the median.
    serial_runs: list[float] = []
    parallel_runs: list[float] = []
    for _ in range(3):
        seconds, serial_out = timed("1")
        serial_runs.append(seconds)
        seconds, parallel_out = timed("auto")
        parallel_runs.append(seconds)
        if parallel_out != serial_out:
            raise RuntimeError("batch verify: -j auto printed other results than -j 1")
    serial_s = statistics.median(serial_runs)
    parallel_s = statistics.median(parallel_runs)
    binary = shutil.which("openssl")
    openssl_s = None
    if binary:
        ossl = OpenSSLPeer(pki, binary)
        started = time.perf_counter()
        for path in files:
            ossl.verify_file(path)
        openssl_s = time.perf_counter() - started
    load_after = os.getloadavg()
    jobs = available_cpus()

    def speedup(seconds: float) -> float | None:
        return None if openssl_s is None else round(openssl_s / seconds, 1)

    entry = {
        "messages": count,
        "size": 10 * KIB,
        "serial_s": round(serial_s, 3),
        "parallel_s": round(parallel_s, 3),
        "parallel_jobs": jobs,
        "serial_runs_s": [round(x, 3) for x in serial_runs],
        "parallel_runs_s": [round(x, 3) for x in parallel_runs],
        "openssl_s": None if openssl_s is None else round(openssl_s, 3),
        "serial_speedup": speedup(serial_s),
        "parallel_speedup": speedup(parallel_s),
        "load_average": [round(x, 2) for x in (*load_before[:1], *load_after[:1])],
    }
    ossl_text = "n/a" if openssl_s is None else f"{openssl_s:.2f} s"
    say(
        f"batch verify of {count} 10 KiB messages (load {load_before[0]:.2f} -> "
        f"{load_after[0]:.2f}): openssl cms -verify (one process each) {ossl_text}; "
        f"smime-harness verify -j 1 {serial_s:.2f} s ({entry['serial_speedup']}x), "
        f"-j auto ({jobs} workers) {parallel_s:.2f} s ({entry['parallel_speedup']}x)"
    )
    return entry


def help_row(say: Say, budget: float) -> dict[str, Any]:
    """How long ``smime-harness --help`` takes, against a bare interpreter start."""
    bare = median_ms(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), budget)
    shown = median_ms(
        lambda: subprocess.run([*_cli(), "--help"], capture_output=True, check=True), budget
    )
    probe = (
        "import sys, engine.cli.commands; engine.cli.commands.build_parser(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'cryptography', 'asn1crypto', 'pytest', 'pytest_bdd', 'jinja2', 'email', 'pkilint'}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    say(
        f"smime-harness --help: {shown:.0f} ms (python -c pass: {bare:.0f} ms); "
        f"heavy modules loaded for --help: {loaded}"
    )
    return {"help_ms": round(shown, 1), "python_ms": round(bare, 1), "heavy_modules": loaded}


def _cli() -> list[str]:
    return [sys.executable, "-m", "engine"]


# --- the feature suite ---------------------------------------------------------------------------

_FEATURE = """\
Feature: Generated load {index}
  Ten users at two organizations exchange signed and encrypted mail.

  Background:
    Given Contoso and Fabrikam each run their own key management
{users}
"""
_SCENARIO = """\
  Scenario: Encrypted mail after a signed message, round {number}
    Given User1 trusts Fabrikam's certificate authority
    And User6 trusts Contoso's certificate authority
    When User6 sends a signed message to User1
    And User1 opens the last message from User6
    Then User1 sees the signature as "valid"
    When User1 adds User6 to Contacts
    And 5 minutes pass
    And User1 sends a signed and encrypted message to User6
    Then the message is sent encrypted
    And User6 can read the message
    And User6 sees the signature as "valid"
"""
PER_FILE = 10


def write_features(folder: Path, count: int) -> None:
    """``count`` scenarios, ten to a feature file, each with ten enrolled users."""
    folder.mkdir(parents=True, exist_ok=True)
    users = "\n".join(
        f"    And User{i} is enrolled at {'Contoso' if i <= 5 else 'Fabrikam'}"
        for i in range(1, 11)
    )
    for start in range(0, count, PER_FILE):
        scenarios = [
            _SCENARIO.format(number=n + 1) for n in range(start, min(start + PER_FILE, count))
        ]
        text = _FEATURE.format(index=start // PER_FILE + 1, users=users) + "\n".join(
            ["", *scenarios]
        )
        (folder / f"load_{start // PER_FILE + 1:04d}.feature").write_text(text)


def scenario_rows(
    counts: Sequence[int], folder: Path, say: Say, *, workers: Sequence[str]
) -> list[dict[str, Any]]:
    from engine.harness.runner import run_features
    from engine.report.model import ScenarioStatus

    parallel = "workers" in inspect.signature(run_features).parameters
    rows: list[dict[str, Any]] = []
    for count in counts:
        features = folder / f"features-{count}"
        write_features(features, count)
        for worker in workers if parallel else ("0",):
            options: dict[str, Any] = {"workers": worker} if parallel else {}
            started = time.perf_counter()
            result = run_features(
                [features],
                artifacts=folder / "artifacts",
                results=folder / f"results-{count}-{worker}.json",
                quiet=True,
                say=lambda _text: None,
                **options,
            )
            elapsed = time.perf_counter() - started
            failed = result.count(ScenarioStatus.FAILED)
            row = {
                "scenarios": count,
                "users_per_scenario": 10,
                "workers": worker,
                "seconds": round(elapsed, 2),
                "ms_per_scenario": round(elapsed / count * 1000, 2),
                "passed": result.count(ScenarioStatus.PASSED),
                "failed": failed,
            }
            rows.append(row)
            say(
                f"feature suite: {count:>5} scenarios, -n {worker:<4} {elapsed:7.2f} s "
                f"({row['ms_per_scenario']:.1f} ms/scenario, {row['passed']} passed"
                f"{f', {failed} FAILED' if failed else ''})"
            )
    by_key = {(int(r["scenarios"]), str(r["workers"])): float(r["seconds"]) for r in rows}
    for count in counts:
        serial, two = by_key.get((count, "0")), by_key.get((count, "2"))
        if serial and two:
            say(f"feature suite: {count} scenarios, -n 2 speed-up over -n 0: {serial / two:.2f}x")
    return rows


# --- output ------------------------------------------------------------------------------------

Say = Callable[[str], None]

_HEADER = (
    f"{'operation':<24} {'size':>8} {'rcpt':>4} {'engine ms':>10} {'floor ms':>9} "
    f"{'e/floor':>7} {'crypto ms':>10} {'e/crypto':>8} {'openssl ms':>10} {'e/openssl':>9}"
)


def _size(size: int | None) -> str:
    if size is None:
        return ""
    if size >= MIB:
        return f"{size // MIB} MiB"
    return f"{size // KIB} KiB"


def _num(value: float | None, width: int, digits: int = 3) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"


def _row_line(row: Row) -> str:
    return (
        f"{row.operation:<24} {_size(row.size):>8} {row.recipients or '':>4} "
        f"{row.engine_ms:>10.3f} {_num(row.floor_ms, 9)} {_num(row.ratio(row.floor_ms), 7, 2)} "
        f"{_num(row.cryptography_ms, 10)} {_num(row.ratio(row.cryptography_ms), 8, 2)} "
        f"{_num(row.openssl_ms, 10)} {_num(row.ratio(row.openssl_ms), 9, 2)}"
    )


def machine() -> dict[str, Any]:
    lscpu = shutil.which("lscpu")
    model = ""
    if lscpu:
        for line in subprocess.run([lscpu], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    openssl = shutil.which("openssl")
    version = (
        subprocess.run([openssl, "version"], capture_output=True, text=True).stdout.strip()
        if openssl
        else None
    )
    import cryptography

    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cryptography": cryptography.__version__,
        "openssl": version,
    }


@contextmanager
def _key_cache() -> Iterator[None]:
    """The feature runner's plugin and this script share one key cache folder."""
    previous = os.environ.get("SMIME_HARNESS_KEY_CACHE")
    if previous is None:
        os.environ["SMIME_HARNESS_KEY_CACHE"] = str(default_cache_dir())
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("SMIME_HARNESS_KEY_CACHE", None)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats (< 60 s)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--skip-scenarios", action="store_true", help="leave out the feature suite")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    say: Say = print
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="smime-bench-") as tmp, _key_cache():
        folder = Path(tmp)
        counts = settings.recipients
        pki = build_pki(max(counts), folder)
        info = machine()
        say(
            f"# {info['cpus']} CPUs ({info['cpu_model']}), Python {info['python']}, "
            f"cryptography {info['cryptography']}, {info['openssl']}"
        )
        say("# medians in ms; e/X = engine time / X's time (below 1: the engine is faster)")
        say(_HEADER)
        rows = message_rows(pki, settings.sizes, counts, settings, say)
        say("")
        big = max(settings.sizes)
        memory = memory_rows(pki, big, say) if big >= MIB else []
        batch = batch_row(pki, settings.batch, say)
        help_time = help_row(say, 0.0 if args.quick else 0.5)
        scenarios = (
            []
            if args.skip_scenarios
            else scenario_rows(
                settings.scenarios,
                folder / "scenarios",
                say,
                workers=("0",) if args.quick else ("0", "2"),
            )
        )
    total = time.perf_counter() - started
    say(f"# total {total:.1f} s")
    if args.json:
        document = {
            "machine": info,
            "mode": "quick" if args.quick else "full",
            "rows": [row.view() for row in rows],
            "large_message": memory,
            "batch_verify": batch,
            "help": help_time,
            "scenarios": scenarios,
            "seconds": round(total, 1),
        }
        Path(args.json).write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Parsers fed mutations of valid inputs raise only the engine's typed errors.

Seeds are real: certificates, CRLs and keys in PEM and DER, PKCS#12 files,
signed, encrypted and nested messages, the built-in policies and the shipped
feature files. ``mutations()`` flips bits, truncates, splices, changes DER
length octets and edits DER inside base64, so inputs get past the first check.
Anything but an :class:`~engine.errors.SmimeError` escaping is a bug.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cli import commands as cli
from engine.clock import FixedClock
from engine.cms.algorithms import ContentCipher, KeyTransport
from engine.errors import SmimeError
from engine.pki.authority import CertificateSpec, OrgCA
from engine.pki.credential import (
    Credential,
    certificates_pem,
    load_certificate,
    load_certificates,
    load_crls,
    load_pkcs12,
)
from engine.pki.keys import KeyPool, KeyType, load_private_key, private_key_pem
from engine.pki.revocation import RevocationReason
from engine.smime.classification import classify
from engine.smime.decryption import decrypt
from engine.smime.encryption import encrypt
from engine.smime.inspection import inspect
from engine.smime.message import split_message
from engine.smime.multipart import signed_parts
from engine.smime.opening import open_message
from engine.smime.pkcs7 import pkcs7_payload
from engine.smime.signing import sign
from engine.smime.verification import verify
from engine.strategies import mutations
from tests.property.world import EPOCH, FUZZ_MESSAGE, FUZZ_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = FUZZ_PASSWORD
MESSAGE = FUZZ_MESSAGE


@dataclasses.dataclass(frozen=True)
class Seeds:
    root: x509.Certificate
    rsa: Credential
    ec: Credential
    certificates: list[bytes]
    crls: list[bytes]
    keys: list[bytes]
    pkcs12: list[bytes]
    messages: list[bytes]


# Seeds are kept on disk (.cache/, git-ignored): signatures, envelopes and serial numbers
# are random, and Hypothesis' example database (long profile) replays choice sequences
# that only mean something against the very same seed bytes.
SEED_CACHE = ROOT / ".cache" / "property-seeds-v1.json"


def _stored(seeds: Seeds) -> dict[str, object]:
    der = serialization.Encoding.DER
    return {
        "root": seeds.root.public_bytes(der).hex(),
        "rsa": seeds.rsa.to_pkcs12(PASSWORD).hex(),
        "ec": seeds.ec.to_pkcs12(PASSWORD).hex(),
        **{
            name: [blob.hex() for blob in getattr(seeds, name)]
            for name in ("certificates", "crls", "keys", "pkcs12", "messages")
        },
    }


def _restored(data: dict[str, Any]) -> Seeds:
    return Seeds(
        root=x509.load_der_x509_certificate(bytes.fromhex(data["root"])),
        rsa=load_pkcs12(bytes.fromhex(data["rsa"]), PASSWORD),
        ec=load_pkcs12(bytes.fromhex(data["ec"]), PASSWORD),
        **{
            name: [bytes.fromhex(blob) for blob in data[name]]
            for name in ("certificates", "crls", "keys", "pkcs12", "messages")
        },
    )


@pytest.fixture(scope="module")
def seeds(key_pool: KeyPool) -> Seeds:
    if SEED_CACHE.exists():
        return _restored(json.loads(SEED_CACHE.read_text()))
    made = _make_seeds(key_pool)
    SEED_CACHE.parent.mkdir(parents=True, exist_ok=True)
    SEED_CACHE.write_text(json.dumps(_stored(made)))
    return _restored(json.loads(SEED_CACHE.read_text()))


def _make_seeds(key_pool: KeyPool) -> Seeds:
    clock = FixedClock(EPOCH)
    ca = OrgCA.create(
        "Contoso",
        "contoso.example",
        clock=clock,
        keys=key_pool,
        key_type=KeyType.EC_P256,
        intermediate=True,
    )
    rsa = ca.issue(
        CertificateSpec(
            email="alice@contoso.example",
            key_type=KeyType.RSA_2048,
            key=key_pool.key(KeyType.RSA_2048, 0),
        )
    )
    ec = ca.issue(
        CertificateSpec(
            email="bob@contoso.example",
            key_type=KeyType.EC_P256,
            key=key_pool.key(KeyType.EC_P256, 0),
        )
    )
    ca.revoke(ec.certificate, RevocationReason.KEY_COMPROMISE)
    der = serialization.Encoding.DER
    crl = ca.crl()
    detached = sign(MESSAGE, rsa, clock=clock)
    opaque = sign(MESSAGE, ec, clock=clock, opaque=True)
    return Seeds(
        root=ca.root,
        rsa=rsa,
        ec=ec,
        certificates=[
            rsa.certificate.public_bytes(der),
            certificates_pem([rsa.certificate, *ca.chain]),
        ],
        crls=[crl.public_bytes(der), crl.public_bytes(serialization.Encoding.PEM)],
        keys=[
            private_key_pem(rsa.private_key),
            private_key_pem(ec.private_key, PASSWORD),
            ec.private_key.private_bytes(
                der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        ],
        pkcs12=[rsa.to_pkcs12(PASSWORD), ec.to_pkcs12(PASSWORD, legacy=True)],
        messages=[
            detached,
            opaque,
            encrypt(MESSAGE, [rsa.certificate, ec.certificate], cipher=ContentCipher.AES_128_CBC),
            encrypt(
                detached,
                [rsa.certificate],
                cipher=ContentCipher.AES_256_GCM,
                key_transport=KeyTransport.RSAES_OAEP,
            ),
            encrypt(opaque, [ec.certificate], cipher=ContentCipher.AES_256_GCM),
            sign(encrypt(MESSAGE, [ec.certificate]), rsa, clock=clock),
        ],
    )


def _only_typed_errors(call: Callable[[], object]) -> None:
    with contextlib.suppress(SmimeError):
        call()


def _fuzz(attribute: str, target: Callable[[Seeds, bytes], object]) -> Callable[..., None]:
    @given(data=st.data())
    def test(seeds: Seeds, data: st.DataObject) -> None:
        blob = data.draw(mutations(of=getattr(seeds, attribute)), label=attribute)
        _only_typed_errors(lambda: target(seeds, blob))

    return test


test_certificate_loaders = _fuzz(
    "certificates",
    lambda s, b: (load_certificates(b), load_certificate(b)),
)
test_crl_loader = _fuzz("crls", lambda s, b: load_crls(b))
test_private_key_loader = _fuzz(
    "keys", lambda s, b: (load_private_key(b), load_private_key(b, PASSWORD))
)
test_pkcs12_loader = _fuzz("pkcs12", lambda s, b: load_pkcs12(b, PASSWORD))


def _mime(seeds: Seeds, blob: bytes) -> None:
    _, entity = split_message(blob)
    _only_typed_errors(lambda: classify(entity))
    _only_typed_errors(lambda: signed_parts(entity))
    _only_typed_errors(lambda: pkcs7_payload(entity))


test_mime_parsers = _fuzz("messages", _mime)
test_verify = _fuzz("messages", lambda s, b: verify(b, anchors=[s.root], at=EPOCH))
test_decrypt = _fuzz("messages", lambda s, b: (decrypt(b, s.rsa), decrypt(b, s.ec)))
test_inspect = _fuzz("messages", lambda s, b: inspect(b))
test_open_message = _fuzz(
    "messages",
    lambda s, b: open_message(b, credentials=[s.rsa, s.ec], anchors=[s.root], at=EPOCH),
)


# --- policy files and feature files --------------------------------------------------

POLICIES = [p.read_bytes() for p in sorted((ROOT / "engine" / "policy" / "builtin").glob("*.toml"))]
POLICIES += [p.read_bytes() for p in sorted((ROOT / "features").rglob("*.toml"))]
FEATURES = [p.read_bytes() for p in sorted((ROOT / "features").glob("*.feature"))]


@given(blob=mutations(of=POLICIES))
def test_policy_loader(blob: bytes) -> None:
    from engine.policy.document import policy_from_text

    _only_typed_errors(lambda: policy_from_text(blob.decode("utf-8", "replace"), file="fuzz"))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=mutations(of=POLICIES))
def test_policy_file_loader(tmp_path: Path, blob: bytes) -> None:
    from engine.policy.document import load_policy_file

    path = tmp_path / "fuzz.toml"
    path.write_bytes(blob)
    _only_typed_errors(lambda: load_policy_file(path))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=mutations(of=FEATURES))
def test_feature_syntax_check(tmp_path: Path, blob: bytes) -> None:
    from engine.harness.runner import check_syntax

    path = tmp_path / "fuzz.feature"
    path.write_bytes(blob)
    _only_typed_errors(lambda: check_syntax([path]))


# --- the command line ----------------------------------------------------------------

COMMANDS = ("verify", "decrypt", "inspect", "p12", "cert")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), command=st.sampled_from(COMMANDS))
def test_the_cli_turns_bad_input_into_one_line_and_exit_code_2(
    seeds: Seeds,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    data: st.DataObject,
    command: str,
) -> None:
    root = tmp_path / "root.pem"
    root.write_bytes(certificates_pem([seeds.root]))
    key = tmp_path / "key.pem"
    key.write_bytes(private_key_pem(seeds.rsa.private_key))
    cert = tmp_path / "cert.pem"
    cert.write_bytes(certificates_pem([seeds.rsa.certificate]))
    password = tmp_path / "password"
    password.write_bytes(PASSWORD + b"\n")
    bad = tmp_path / "input"
    if command in ("verify", "decrypt", "inspect"):
        bad.write_bytes(data.draw(mutations(of=seeds.messages), label="message"))
    elif command == "p12":
        bad.write_bytes(data.draw(mutations(of=seeds.pkcs12), label="pkcs12"))
    else:
        bad.write_bytes(data.draw(mutations(of=seeds.certificates), label="certificate"))
    message = tmp_path / "message.eml"
    message.write_bytes(seeds.messages[2])
    argv = {
        "verify": ["verify", "--trust", str(root), "--at", "2026-06-01T12:00:00Z", str(bad)],
        "decrypt": [
            "decrypt",
            "--cert",
            str(cert),
            "--key",
            str(key),
            "--out",
            str(tmp_path / "out"),
            str(bad),
        ],
        "inspect": ["inspect", str(bad)],
        "p12": [
            "decrypt",
            "--p12",
            str(bad),
            "--password-file",
            str(password),
            "--out",
            str(tmp_path / "out"),
            str(message),
        ],
        "cert": ["verify", "--trust", str(bad), str(message)],
    }[command]
    capsys.readouterr()
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code in (0, 1, 2)
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith("smime-harness: error: "), err
        assert "unexpected" not in lines[0], err  # a bare library exception escaped: a bug

"""Signature interop with gpgsm 2.2, both directions.

engine -> gpgsm: detached signatures are checked as gpgsm sees mail: the first part
of multipart/signed (its canonical bytes) and the signature part's DER, with
``gpgsm --verify sig data``; opaque ones with ``gpgsm --verify``. Both must report
GOODSIG and VALIDSIG for the signer's certificate and the digest the engine used.
gpgsm -> engine: gpgsm's detached and opaque signatures, wrapped as S/MIME, verify
with the engine as intact, trusted and address-matched.
gpgsm 2.2 verifies RSASSA-PSS only with a salt as long as the digest (RFC 4055's
recommendation; openssl's default maximal salt gets BADSIG), so the PSS cases also
pin the engine's salt length.
"""

from __future__ import annotations

import pytest
from smime_messages import (
    MIXED_ENTITY,
    PLAIN_ENTITY,
    MultipartSigned,
    canonical,
    decoded_body,
    multipart_signed,
    pkcs7_der,
    pkcs7_mime,
    rfc5322,
)
from smime_peers import Gpgsm, GpgsmRun, sha1_fingerprint
from smime_pki import InteropPKI, Mailbox

from engine.cms.algorithms import ContentCipher, DigestAlgorithm, SignatureScheme
from engine.smime import decryption, encryption, signing, verification
from engine.smime.sender import AddressMatch
from engine.smime.verification_result import VerificationResult

pytestmark = pytest.mark.interop

# Libgcrypt's hash algorithm numbers in VALIDSIG (field 8).
GCRY_MD = {
    DigestAlgorithm.SHA1: "2",
    DigestAlgorithm.SHA256: "8",
    DigestAlgorithm.SHA384: "9",
    DigestAlgorithm.SHA512: "10",
}
RSA, PSS, ECDSA = SignatureScheme.RSA_PKCS1V15, SignatureScheme.RSA_PSS, SignatureScheme.ECDSA

GPGSM_SIGN_CASES = [
    ("alice", DigestAlgorithm.SHA256, RSA),
    ("alice", DigestAlgorithm.SHA384, RSA),
    ("alice", DigestAlgorithm.SHA512, RSA),
    ("alice", DigestAlgorithm.SHA256, PSS),
    ("alice", DigestAlgorithm.SHA384, PSS),
    ("alice", DigestAlgorithm.SHA512, PSS),
    ("bob", DigestAlgorithm.SHA256, RSA),
    ("dave", DigestAlgorithm.SHA256, RSA),
    ("carol", DigestAlgorithm.SHA256, ECDSA),
    ("carol", DigestAlgorithm.SHA384, ECDSA),
    ("erin", DigestAlgorithm.SHA256, ECDSA),
]


def _ids(case: tuple[str, DigestAlgorithm, SignatureScheme]) -> str:
    who, digest, scheme = case
    return f"{who}-{scheme.value}-{digest.value}"


def _sign(
    pki: InteropPKI,
    who: str,
    digest: DigestAlgorithm,
    scheme: SignatureScheme,
    *,
    opaque: bool,
    entity: bytes = PLAIN_ENTITY,
) -> bytes:
    mailbox: Mailbox = getattr(pki, who)
    encryption = None if mailbox.enrollment.dual_use else mailbox.encryption.certificate
    return signing.sign(
        rfc5322(entity, sender=mailbox.email, recipient=pki.bob.email),
        mailbox.signing,
        clock=pki.clock,
        digest=digest,
        scheme=scheme,
        opaque=opaque,
        encryption_certificate=encryption,
    )


def _assert_good(result: GpgsmRun, mailbox: Mailbox, digest: DigestAlgorithm) -> None:
    assert "GOODSIG" in result.keywords(), result.describe()
    valid = result.first("VALIDSIG")
    assert valid is not None, result.describe()
    assert valid.args[0] == sha1_fingerprint(mailbox.signing.certificate)
    assert valid.args[7] == GCRY_MD[digest], result.describe()
    assert "BADSIG" not in result.keywords()


def _explain(result: VerificationResult) -> str:
    return f"status={result.status} trust={result.trust.status} reasons={result.reasons}"


# -- engine -> gpgsm ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", GPGSM_SIGN_CASES, ids=_ids)
def test_engine_detached_signature_verifies_with_gpgsm(
    gpgsm: Gpgsm, pki: InteropPKI, case: tuple[str, DigestAlgorithm, SignatureScheme]
) -> None:
    who, digest, scheme = case
    parts = MultipartSigned(_sign(pki, who, digest, scheme, opaque=False))
    result = gpgsm.verify_detached(parts.signature, parts.signed_entity)
    _assert_good(result, getattr(pki, who), digest)


@pytest.mark.parametrize("case", GPGSM_SIGN_CASES, ids=_ids)
def test_engine_opaque_signature_verifies_with_gpgsm(
    gpgsm: Gpgsm, pki: InteropPKI, case: tuple[str, DigestAlgorithm, SignatureScheme]
) -> None:
    who, digest, scheme = case
    signed = _sign(pki, who, digest, scheme, opaque=True)
    result, content = gpgsm.verify_opaque(pkcs7_der(signed))
    _assert_good(result, getattr(pki, who), digest)
    assert decoded_body(content) == decoded_body(PLAIN_ENTITY)


def test_engine_signed_multipart_entity_verifies_with_gpgsm(gpgsm: Gpgsm, pki: InteropPKI) -> None:
    signed = _sign(pki, "alice", DigestAlgorithm.SHA256, RSA, opaque=False, entity=MIXED_ENTITY)
    parts = MultipartSigned(signed)
    assert parts.signed_entity == MIXED_ENTITY
    _assert_good(
        gpgsm.verify_detached(parts.signature, parts.signed_entity),
        pki.alice,
        DigestAlgorithm.SHA256,
    )


def test_engine_signature_with_a_changed_body_byte_is_bad_for_gpgsm(
    gpgsm: Gpgsm, pki: InteropPKI
) -> None:
    parts = MultipartSigned(_sign(pki, "alice", DigestAlgorithm.SHA256, RSA, opaque=False))
    tampered = parts.signed_entity.replace(b"Hello", b"Jello")
    result = gpgsm.verify_detached(parts.signature, tampered, check=False)
    assert "BADSIG" in result.keywords(), result.describe()
    assert "GOODSIG" not in result.keywords()


def test_engine_sign_then_encrypt_gpgsm_decrypts_then_verifies(
    gpgsm: Gpgsm, pki: InteropPKI
) -> None:
    signed = _sign(pki, "alice", DigestAlgorithm.SHA256, RSA, opaque=False)
    encrypted = encryption.encrypt(signed, [pki.bob.certificate], cipher=ContentCipher.AES_256_CBC)
    _, inner = gpgsm.decrypt(pkcs7_der(encrypted))
    parts = MultipartSigned(inner)
    _assert_good(
        gpgsm.verify_detached(parts.signature, parts.signed_entity),
        pki.alice,
        DigestAlgorithm.SHA256,
    )


# -- gpgsm -> engine ---------------------------------------------------------------------------


def _headers(sender: Mailbox, recipient: Mailbox) -> bytes:
    return (
        f"From: {sender.email}\r\nTo: {recipient.email}\r\nSubject: from gpgsm\r\n"
        "MIME-Version: 1.0\r\n"
    ).encode()


def _assert_valid(result: VerificationResult, mailbox: Mailbox, entity: bytes) -> None:
    assert result.intact, _explain(result)
    assert result.trusted, _explain(result)
    assert result.address_match is AddressMatch.MATCH
    assert result.status == "valid"
    assert result.signer == mailbox.signing.certificate
    assert result.content == entity


@pytest.mark.parametrize("include_certs", [-2, -1], ids=["all-but-root", "whole-chain"])
@pytest.mark.parametrize("who", ["alice", "bob", "dave"])
@pytest.mark.parametrize("entity", [PLAIN_ENTITY, MIXED_ENTITY], ids=["plain", "mixed"])
def test_gpgsm_detached_signature_verifies_with_the_engine(
    gpgsm: Gpgsm, pki: InteropPKI, who: str, entity: bytes, include_certs: int
) -> None:
    mailbox: Mailbox = getattr(pki, who)
    signature = gpgsm.sign(entity, mailbox.signing.certificate, include_certs=include_certs)
    message = multipart_signed(
        entity, signature, micalg="sha-256", headers=_headers(mailbox, pki.bob)
    )
    result = verification.verify(message, anchors=pki.anchors, at=pki.at)
    _assert_valid(result, mailbox, entity)
    assert result.digest is DigestAlgorithm.SHA256


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_gpgsm_opaque_signature_verifies_with_the_engine(
    gpgsm: Gpgsm, pki: InteropPKI, who: str
) -> None:
    mailbox: Mailbox = getattr(pki, who)
    signed = gpgsm.sign(PLAIN_ENTITY, mailbox.signing.certificate, detached=False)
    message = pkcs7_mime(signed, "signed-data", headers=_headers(mailbox, pki.alice))
    result = verification.verify(message, anchors=pki.anchors, at=pki.at)
    _assert_valid(result, mailbox, PLAIN_ENTITY)


def test_gpgsm_signature_with_a_changed_body_byte_is_not_intact_for_the_engine(
    gpgsm: Gpgsm, pki: InteropPKI
) -> None:
    signature = gpgsm.sign(PLAIN_ENTITY, pki.alice.signing.certificate)
    tampered = PLAIN_ENTITY.replace(b"Hello", b"Jello")
    message = multipart_signed(
        tampered, signature, micalg="sha-256", headers=_headers(pki.alice, pki.bob)
    )
    result = verification.verify(message, anchors=pki.anchors, at=pki.at)
    assert not result.intact, _explain(result)


def test_gpgsm_sign_then_encrypt_engine_decrypts_then_verifies(
    gpgsm: Gpgsm, pki: InteropPKI
) -> None:
    signature = gpgsm.sign(PLAIN_ENTITY, pki.bob.signing.certificate)
    inner = multipart_signed(PLAIN_ENTITY, signature, micalg="sha-256", headers=b"")
    enveloped = gpgsm.encrypt(inner, [pki.alice.certificate, pki.bob.certificate])
    message = pkcs7_mime(enveloped, "enveloped-data", headers=_headers(pki.bob, pki.alice))
    decrypted = decryption.decrypt(message, pki.alice.encryption)
    assert decrypted.content == canonical(inner)
    result = verification.verify(
        decrypted.content, anchors=pki.anchors, at=pki.at, sender=pki.bob.email
    )
    _assert_valid(result, pki.bob, PLAIN_ENTITY)

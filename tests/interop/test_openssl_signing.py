"""Signature interop with ``openssl cms``, both directions, and tampering.

engine -> openssl: what the engine signs (detached and opaque; RSA PKCS#1 v1.5, PSS,
ECDSA; SHA-256/384/512; RSA and EC CAs, with and without an intermediate) verifies
with ``openssl cms -verify -CAfile root.pem -purpose smimesign``.
openssl -> engine: what ``openssl cms -sign`` makes (detached with LF or CRLF line
ends, -nodetach, -md sha1/sha384/sha512, PSS, ECDSA) verifies with the engine as
intact, trusted and address-matched, with the signed content byte for byte.
Tampering: a changed body byte, signed attribute or certificate fails both.
"""

from __future__ import annotations

import dataclasses

import pytest
from smime_messages import (
    MIXED_ENTITY,
    PLAIN_ENTITY,
    MultipartSigned,
    canonical,
    certificates_in,
    content_type,
    content_type_param,
    decoded_body,
    pkcs7_der,
    pkcs7_mime,
    replace_certificates,
    rfc5322,
    tamper_encapsulated_content,
    tamper_signed_attribute,
    with_pkcs7_der,
)
from smime_peers import OpenSSL, der
from smime_pki import InteropPKI, Mailbox, forged_twin

from engine.cms.algorithms import ContentCipher, DigestAlgorithm, SignatureScheme
from engine.errors import SmimeError
from engine.smime import decryption, encryption, signing, verification
from engine.smime.sender import AddressMatch
from engine.smime.verification_result import VerificationResult

pytestmark = pytest.mark.interop


@dataclasses.dataclass(frozen=True)
class SignCase:
    who: str
    digest: DigestAlgorithm
    scheme: SignatureScheme

    def __str__(self) -> str:
        return f"{self.who}-{self.scheme.value}-{self.digest.value}"


RSA, PSS, ECDSA = SignatureScheme.RSA_PKCS1V15, SignatureScheme.RSA_PSS, SignatureScheme.ECDSA
SHA256, SHA384, SHA512 = DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512
SIGN_CASES = [
    *(SignCase("alice", d, s) for s in (RSA, PSS) for d in (SHA256, SHA384, SHA512)),
    *(SignCase("carol", d, ECDSA) for d in (SHA256, SHA384, SHA512)),
    SignCase("erin", SHA256, ECDSA),  # EC root, no intermediate
    SignCase("bob", SHA256, RSA),  # RSA root, no intermediate
    SignCase("dave", SHA256, RSA),  # separate signing and encryption certificates
]
# How openssl -cmsout -print names a SignerInfo's signature algorithm (RFC 5754 allows
# rsaEncryption or sha*WithRSAEncryption for PKCS #1 v1.5).
PRINTED_SCHEME = {
    RSA: ("rsaEncryption", "WithRSAEncryption"),
    PSS: ("rsassaPss",),
    ECDSA: ("ecdsa-with-SHA",),
}


def _message(sender: Mailbox, recipient: Mailbox, entity: bytes = PLAIN_ENTITY) -> bytes:
    return rfc5322(entity, sender=sender.email, recipient=recipient.email)


def _engine_sign(
    pki: InteropPKI, case: SignCase, *, opaque: bool, entity: bytes = PLAIN_ENTITY
) -> bytes:
    mailbox: Mailbox = getattr(pki, case.who)
    encryption = None if mailbox.enrollment.dual_use else mailbox.encryption.certificate
    return signing.sign(
        _message(mailbox, pki.bob if mailbox is not pki.bob else pki.alice, entity),
        mailbox.signing,
        clock=pki.clock,
        digest=case.digest,
        scheme=case.scheme,
        opaque=opaque,
        encryption_certificate=encryption,
    )


def _verify(pki: InteropPKI, message: bytes, *, sender: str | None = None) -> VerificationResult:
    return verification.verify(message, anchors=pki.anchors, at=pki.at, sender=sender)


def _explain(result: VerificationResult) -> str:
    return f"status={result.status} trust={result.trust.status} reasons={result.reasons}"


# -- engine -> openssl -------------------------------------------------------------------------


@pytest.mark.parametrize("case", SIGN_CASES, ids=str)
def test_engine_detached_signature_verifies_with_openssl(
    openssl: OpenSSL, pki: InteropPKI, case: SignCase
) -> None:
    mailbox: Mailbox = getattr(pki, case.who)
    signed = _engine_sign(pki, case, opaque=False)
    assert content_type(signed) == "multipart/signed"
    assert content_type_param(signed, "micalg") == case.digest.micalg
    assert content_type_param(signed, "protocol") == "application/pkcs7-signature"
    parts = MultipartSigned(signed)
    run = openssl.verify(signed, anchors=[mailbox.anchor])
    assert "Verification successful" in run.stderr
    assert canonical(run.stdout) == parts.signed_entity
    # What was signed is the sender's text, whatever transfer encoding made it 7-bit.
    assert decoded_body(parts.signed_entity) == decoded_body(PLAIN_ENTITY)
    assert _verify(pki, signed).content == parts.signed_entity
    structure = openssl.print_structure(parts.signature, inform="DER")
    assert any(name in structure for name in PRINTED_SCHEME[case.scheme]), structure
    assert f"algorithm: {case.digest.value} (" in structure


@pytest.mark.parametrize("case", SIGN_CASES, ids=str)
def test_engine_opaque_signature_verifies_with_openssl(
    openssl: OpenSSL, pki: InteropPKI, case: SignCase
) -> None:
    mailbox: Mailbox = getattr(pki, case.who)
    signed = _engine_sign(pki, case, opaque=True)
    assert content_type(signed) == "application/pkcs7-mime"
    assert content_type_param(signed, "smime-type") == "signed-data"
    run = openssl.verify(signed, anchors=[mailbox.anchor])
    # The encapsulated content is the entity, CRLF-canonical (8bit may become 7bit-safe);
    # the engine reads back the same bytes openssl does.
    assert run.stdout == canonical(run.stdout)
    assert content_type(run.stdout) == "text/plain"
    assert decoded_body(run.stdout) == decoded_body(PLAIN_ENTITY)
    assert _verify(pki, signed).content == run.stdout


def test_engine_signs_a_multipart_entity_openssl_verifies_byte_for_byte(
    openssl: OpenSSL, pki: InteropPKI
) -> None:
    signed = _engine_sign(pki, SignCase("alice", SHA256, RSA), opaque=False, entity=MIXED_ENTITY)
    run = openssl.verify(signed, anchors=[pki.alpha.root])
    assert canonical(run.stdout) == MIXED_ENTITY  # already 7-bit and CRLF: signed unchanged


def test_engine_signature_does_not_verify_against_another_root(
    openssl: OpenSSL, pki: InteropPKI
) -> None:
    signed = _engine_sign(pki, SignCase("alice", SHA256, RSA), opaque=False)
    run = openssl.verify(signed, anchors=[pki.beta.root], check=False)
    assert not run.ok
    assert "certificate verify error" in run.stderr or "unable to get" in run.stderr


# -- openssl -> engine -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PeerSignCase:
    who: str
    digest: str
    keyopts: tuple[str, ...] = ()
    detached: bool = True
    crlf: bool = False

    def __str__(self) -> str:
        mode = "detached" if self.detached else "opaque"
        extra = "-pss" if self.keyopts else ""
        return f"{self.who}-{self.digest}{extra}-{mode}{'-crlfeol' if self.crlf else ''}"


PEER_SIGN_CASES = [
    PeerSignCase("alice", "sha256"),
    PeerSignCase("alice", "sha256", crlf=True),
    PeerSignCase("alice", "sha256", detached=False),
    PeerSignCase("alice", "sha384"),
    PeerSignCase("alice", "sha512", detached=False),
    PeerSignCase("alice", "sha1"),
    PeerSignCase("alice", "sha256", ("rsa_padding_mode:pss",)),
    PeerSignCase("alice", "sha384", ("rsa_padding_mode:pss",), detached=False),
    PeerSignCase("alice", "sha512", ("rsa_padding_mode:pss", "rsa_pss_saltlen:32")),
    PeerSignCase("carol", "sha256"),
    PeerSignCase("carol", "sha384", detached=False),
    PeerSignCase("erin", "sha256"),
    PeerSignCase("erin", "sha512", detached=False),
    PeerSignCase("bob", "sha256"),
    PeerSignCase("dave", "sha256", detached=False),
]


@pytest.mark.parametrize("case", PEER_SIGN_CASES, ids=str)
def test_openssl_signature_verifies_with_the_engine(
    openssl: OpenSSL, pki: InteropPKI, case: PeerSignCase
) -> None:
    mailbox: Mailbox = getattr(pki, case.who)
    signed = openssl.sign(
        PLAIN_ENTITY,
        mailbox.signing,
        detached=case.detached,
        digest=case.digest,
        keyopts=case.keyopts,
        headers={"From": mailbox.email, "To": pki.bob.email, "Subject": "signed by openssl"},
        crlfeol=case.crlf,
    )
    result = _verify(pki, signed)
    assert result.intact, _explain(result)
    assert result.trusted, _explain(result)
    assert result.address_match is AddressMatch.MATCH
    assert result.status == "valid"
    assert result.signer == mailbox.signing.certificate
    assert result.digest is DigestAlgorithm(case.digest)
    expected_scheme = ECDSA if case.who in ("carol", "erin") else PSS if case.keyopts else RSA
    assert result.scheme is expected_scheme
    assert result.content == PLAIN_ENTITY


@pytest.mark.parametrize(
    ("flags", "detached", "command"),
    [
        (("-stream",), False, "cms"),
        (("-stream",), True, "cms"),
        (("-keyid",), True, "cms"),
        (("-keyid",), False, "cms"),
        ((), True, "smime"),
        ((), False, "smime"),
        (("-stream",), False, "smime"),
    ],
    ids=[
        "ber-indefinite-opaque",
        "streamed-detached",
        "ski-signer-detached",
        "ski-signer-opaque",
        "legacy-x-pkcs7-detached",
        "legacy-x-pkcs7-opaque",
        "legacy-x-pkcs7-ber-opaque",
    ],
)
def test_openssl_signature_quirks_verify_with_the_engine(
    openssl: OpenSSL, pki: InteropPKI, flags: tuple[str, ...], detached: bool, command: str
) -> None:
    """BER indefinite lengths (-stream), a subjectKeyIdentifier signer (-keyid) and the
    legacy application/x-pkcs7-* labels of ``openssl smime`` (RFC 8551 §3.2.1)."""
    signed = openssl.sign(
        PLAIN_ENTITY,
        pki.alice.signing,
        detached=detached,
        headers={"From": pki.alice.email, "To": pki.bob.email},
        flags=flags,
        command=command,
    )
    if command == "smime":
        kind = content_type(signed)
        assert kind in ("multipart/signed", "application/x-pkcs7-mime"), kind
        if detached:
            assert content_type_param(signed, "protocol") == "application/x-pkcs7-signature"
    if "-stream" in flags and not detached:
        assert pkcs7_der(signed)[:2] == b"\x30\x80"  # indefinite length
    result = _verify(pki, signed)
    assert result.intact and result.trusted, _explain(result)
    assert result.address_match is AddressMatch.MATCH
    assert result.signer == pki.alice.signing.certificate
    assert result.content == PLAIN_ENTITY


def test_openssl_text_mode_signature_of_lf_content_verifies_with_the_engine(
    openssl: OpenSSL, pki: InteropPKI
) -> None:
    """Without -binary openssl signs the CRLF form of LF-only input; its MIME framing
    stays LF: the engine must take the signed part in canonical form (RFC 8551 §3.1.1)."""
    lf_entity = PLAIN_ENTITY.replace(b"\r\n", b"\n")
    signed = openssl.sign(
        lf_entity, pki.alice.signing, binary=False, headers={"From": pki.alice.email}
    )
    assert b"MIME-Version: 1.0\n" in signed
    result = _verify(pki, signed)
    assert result.intact and result.trusted, _explain(result)
    assert result.content == PLAIN_ENTITY


@pytest.mark.parametrize("detached", [True, False], ids=["detached", "opaque"])
def test_openssl_signature_without_signed_attributes_verifies_with_the_engine(
    openssl: OpenSSL, pki: InteropPKI, detached: bool
) -> None:
    """SignedAttributes are OPTIONAL (RFC 5652 §5.3): then the signature covers the
    content digest directly."""
    signed = openssl.sign(
        PLAIN_ENTITY,
        pki.bob.signing,
        detached=detached,
        headers={"From": pki.bob.email},
        flags=("-noattr",),
    )
    result = _verify(pki, signed)
    assert result.intact and result.trusted, _explain(result)
    assert result.signing_time is None
    assert result.content == PLAIN_ENTITY


@pytest.mark.parametrize("detached", [True, False], ids=["detached", "opaque"])
def test_engine_signs_lf_only_input_openssl_verifies(
    openssl: OpenSSL, pki: InteropPKI, detached: bool
) -> None:
    """Stored messages often have LF line ends; what is signed is the CRLF form."""
    message = _message(pki.alice, pki.bob, MIXED_ENTITY).replace(b"\r\n", b"\n")
    signed = signing.sign(message, pki.alice.signing, clock=pki.clock, opaque=not detached)
    run = openssl.verify(signed, anchors=[pki.alpha.root])
    assert canonical(run.stdout) == MIXED_ENTITY
    result = _verify(pki, signed)
    assert result.intact and result.address_match is AddressMatch.MATCH, _explain(result)


def test_openssl_capabilities_reach_the_engine(openssl: OpenSSL, pki: InteropPKI) -> None:
    """openssl's default SMIMECapabilities list AES-256-CBC first (RFC 8551 §2.5.2)."""
    signed = openssl.sign(PLAIN_ENTITY, pki.bob.signing, headers={"From": pki.bob.email})
    result = _verify(pki, signed)
    assert result.intact, _explain(result)
    assert result.capabilities[:1] == (ContentCipher.AES_256_CBC,)
    assert ContentCipher.AES_128_CBC in result.capabilities
    assert "2.16.840.1.101.3.4.1.42" in result.capability_oids


def test_openssl_signature_from_someone_else_is_an_address_mismatch(
    openssl: OpenSSL, pki: InteropPKI
) -> None:
    signed = openssl.sign(
        PLAIN_ENTITY, pki.alice.signing, headers={"From": pki.dave.email, "To": pki.bob.email}
    )
    result = _verify(pki, signed)
    assert result.intact and result.trusted, _explain(result)
    assert result.address_match is AddressMatch.MISMATCH
    assert result.status != "valid"


def test_openssl_signature_under_an_unknown_root_is_intact_but_untrusted(
    openssl: OpenSSL, pki: InteropPKI
) -> None:
    signed = openssl.sign(PLAIN_ENTITY, pki.mallory.signing, headers={"From": pki.mallory.email})
    result = _verify(pki, signed)
    assert result.intact, _explain(result)
    assert not result.trusted
    assert result.status != "valid"


def test_openssl_signed_message_with_a_changed_body_byte_is_not_intact(
    openssl: OpenSSL, pki: InteropPKI
) -> None:
    signed = openssl.sign(
        PLAIN_ENTITY, pki.alice.signing, headers={"From": pki.alice.email}, crlfeol=True
    )
    parts = MultipartSigned(signed)
    tampered = parts.with_signed_entity(parts.signed_entity.replace(b"Hello", b"Jello"))
    assert not openssl.verify(tampered, anchors=[pki.alpha.root], check=False).ok
    result = _verify(pki, tampered)
    assert not result.intact, _explain(result)
    assert result.status != "valid"


# -- sign, then encrypt -----------------------------------------------------------------------


def test_engine_sign_then_encrypt_openssl_decrypts_then_verifies(
    openssl: OpenSSL, pki: InteropPKI
) -> None:
    message = _message(pki.alice, pki.bob)
    signed = signing.sign(message, pki.alice.signing, clock=pki.clock)
    encrypted = encryption.encrypt(signed, [pki.bob.certificate, pki.alice.certificate])
    inner = openssl.decrypt(encrypted, pki.bob.encryption).stdout
    assert content_type(inner) == "multipart/signed"
    run = openssl.verify(inner, anchors=[pki.alpha.root])
    assert b"Hello Bob," in run.stdout


def test_openssl_sign_then_encrypt_engine_decrypts_then_verifies(
    openssl: OpenSSL, pki: InteropPKI
) -> None:
    signed = openssl.sign(PLAIN_ENTITY, pki.carol.signing, crlfeol=True)
    encrypted = openssl.encrypt(
        signed,
        [pki.bob.certificate],
        cipher="aes-256-gcm",
        headers={"From": pki.carol.email, "To": pki.bob.email, "Subject": "both"},
    )
    decrypted = decryption.decrypt(encrypted, pki.bob.encryption)
    assert content_type(decrypted.content) == "multipart/signed"
    result = _verify(pki, decrypted.content, sender=pki.carol.email)
    assert result.intact and result.trusted, _explain(result)
    assert result.address_match is AddressMatch.MATCH
    assert result.content == PLAIN_ENTITY


# -- tampering: both openssl and the engine must refuse ------------------------------------------

TAMPER_CASES = [SignCase("alice", SHA256, RSA), SignCase("carol", SHA384, ECDSA)]


def _assert_both_refuse(openssl: OpenSSL, pki: InteropPKI, mailbox: Mailbox, msg: bytes) -> None:
    run = openssl.verify(msg, anchors=[mailbox.anchor], check=False)
    assert not run.ok, "openssl accepted a tampered message"
    result = _verify(pki, msg)
    assert not result.intact, _explain(result)
    assert result.status != "valid"


@pytest.mark.parametrize("opaque", [False, True], ids=["detached", "opaque"])
@pytest.mark.parametrize("case", TAMPER_CASES, ids=str)
def test_a_changed_body_byte_fails_openssl_and_the_engine(
    openssl: OpenSSL, pki: InteropPKI, case: SignCase, opaque: bool
) -> None:
    mailbox: Mailbox = getattr(pki, case.who)
    signed = _engine_sign(pki, case, opaque=opaque)
    assert _verify(pki, signed).intact, "the untampered message must verify"
    if opaque:
        der_ = tamper_encapsulated_content(pkcs7_der(signed), b"Hello", b"Jello")
        tampered = with_pkcs7_der(signed, der_)
    else:
        parts = MultipartSigned(signed)
        tampered = parts.with_signed_entity(parts.signed_entity.replace(b"Hello", b"Jello"))
    _assert_both_refuse(openssl, pki, mailbox, tampered)


@pytest.mark.parametrize("attribute", ["signing_time", "message_digest", "content_type"])
@pytest.mark.parametrize("opaque", [False, True], ids=["detached", "opaque"])
@pytest.mark.parametrize("case", TAMPER_CASES, ids=str)
def test_a_changed_signed_attribute_fails_openssl_and_the_engine(
    openssl: OpenSSL, pki: InteropPKI, case: SignCase, opaque: bool, attribute: str
) -> None:
    mailbox: Mailbox = getattr(pki, case.who)
    signed = _engine_sign(pki, case, opaque=opaque)
    if opaque:
        tampered = with_pkcs7_der(signed, tamper_signed_attribute(pkcs7_der(signed), attribute))
    else:
        parts = MultipartSigned(signed)
        tampered = parts.with_signature(tamper_signed_attribute(parts.signature, attribute))
    _assert_both_refuse(openssl, pki, mailbox, tampered)


@pytest.mark.parametrize("swap", ["forged-twin", "other-signer"])
@pytest.mark.parametrize("opaque", [False, True], ids=["detached", "opaque"])
@pytest.mark.parametrize("case", TAMPER_CASES, ids=str)
def test_a_swapped_certificate_fails_openssl_and_the_engine(
    openssl: OpenSSL, pki: InteropPKI, case: SignCase, opaque: bool, swap: str
) -> None:
    mailbox: Mailbox = getattr(pki, case.who)
    signed = _engine_sign(pki, case, opaque=opaque)
    signature = pkcs7_der(signed) if opaque else MultipartSigned(signed).signature
    genuine = der(mailbox.signing.certificate)
    carried = certificates_in(signature)
    assert genuine in carried
    if swap == "forged-twin":  # same issuer and serial, another key
        replacement = der(forged_twin(mailbox.signing.certificate, pki.mallory.signing))
    else:  # a genuine certificate of another mailbox from the same CA
        replacement = der(pki.dave.signing.certificate)
    swapped = replace_certificates(signature, [replacement if c == genuine else c for c in carried])
    if opaque:
        tampered = with_pkcs7_der(signed, swapped)
    else:
        tampered = MultipartSigned(signed).with_signature(swapped)
    _assert_both_refuse(openssl, pki, mailbox, tampered)


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cut", [1, 2, 10, 100, 400, -60, -1])
@pytest.mark.parametrize("opaque", [False, True], ids=["detached", "opaque"])
def test_truncated_signature_raises_a_typed_error(
    openssl: OpenSSL, pki: InteropPKI, cut: int, opaque: bool
) -> None:
    signed = openssl.sign(
        PLAIN_ENTITY, pki.alice.signing, detached=not opaque, headers={"From": pki.alice.email}
    )
    if opaque:
        broken = with_pkcs7_der(signed, pkcs7_der(signed)[:cut])
    else:
        parts = MultipartSigned(canonical(signed))
        broken = parts.with_signature(parts.signature[:cut])
    with pytest.raises(SmimeError):
        _verify(pki, broken)


@pytest.mark.parametrize(
    "garbage",
    [b"\x00", b"\x30\x80", b"\x30\x03\x02\x01\x01", b"not DER at all", bytes(range(256))],
    ids=["zero", "indefinite-open", "wrong-sequence", "text", "bytes"],
)
def test_garbage_signed_data_raises_a_typed_error(pki: InteropPKI, garbage: bytes) -> None:
    message = pkcs7_mime(garbage, "signed-data", headers=b"From: alice@alpha.example\r\n")
    with pytest.raises(SmimeError):
        _verify(pki, message)


def test_multipart_signed_without_its_signature_part_raises_a_typed_error(
    openssl: OpenSSL, pki: InteropPKI
) -> None:
    signed = canonical(openssl.sign(PLAIN_ENTITY, pki.alice.signing, crlfeol=True))
    parts = MultipartSigned(signed)
    one_part = signed.replace(parts.delimiter + b"\r\n" + parts.signature_entity, b"")
    assert one_part != signed
    with pytest.raises(SmimeError):
        _verify(pki, one_part)


def test_signature_part_that_is_not_base64_der_raises_a_typed_error(
    openssl: OpenSSL, pki: InteropPKI
) -> None:
    parts = MultipartSigned(canonical(openssl.sign(PLAIN_ENTITY, pki.alice.signing)))
    head, _ = parts.signature_entity.split(b"\r\n\r\n", 1)
    parts.signature_entity = head + b"\r\n\r\n!!! this is not base64 !!!"
    with pytest.raises(SmimeError):
        _verify(pki, parts.bytes())


def test_an_envelope_given_to_verify_raises_a_typed_error(
    openssl: OpenSSL, pki: InteropPKI
) -> None:
    encrypted = openssl.encrypt(PLAIN_ENTITY, [pki.alice.certificate])
    with pytest.raises(SmimeError):
        _verify(pki, encrypted)


def test_a_signature_given_to_decrypt_raises_a_typed_error(
    openssl: OpenSSL, pki: InteropPKI
) -> None:
    signed = openssl.sign(PLAIN_ENTITY, pki.alice.signing, detached=False)
    with pytest.raises(SmimeError):
        decryption.decrypt(signed, pki.alice.encryption)
    with pytest.raises(SmimeError):
        decryption.decrypt_content(pkcs7_der(signed), pki.alice.encryption)

"""engine.smime.verification: intact, trusted and address match kept apart; real clients' quirks."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.clock import FixedClock
from engine.cms.algorithms import ContentCipher, DigestAlgorithm, SignatureScheme
from engine.cms.attributes import signed_attributes_der
from engine.cms.content_types import OID_DATA
from engine.cms.parameters import AlgorithmIdentifier
from engine.cms.signed import parse_signed_data, signed_data_der
from engine.errors import DecodeError, InputError, UnsupportedAlgorithmError
from engine.pki.authority import CertificateSpec, Enrollment, OrgCA
from engine.pki.credential import Credential
from engine.pki.keys import KeyPool, KeyType
from engine.pki.revocation import RevocationReason
from engine.pki.trust import TrustStatus
from engine.smime.multipart import signed_parts
from engine.smime.pkcs7 import pkcs7_mime_entity, pkcs7_payload
from engine.smime.sender import AddressMatch
from engine.smime.signing import issuer_serial, sign, signature_algorithm
from engine.smime.verification import verify
from engine.smime.verification_result import VerificationResult

EPOCH = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)  # the clock fixture's time
DER = serialization.Encoding.DER
RSA, PSS, ECDSA = SignatureScheme.RSA_PKCS1V15, SignatureScheme.RSA_PSS, SignatureScheme.ECDSA

BODY = b"The numbers are in.\r\nSecond line.\r\n"
MESSAGE = (
    b"From: Alice <alice@Contoso.Example>\r\n"
    b"To: bob@fabrikam.example\r\n"
    b"Subject: Quarterly numbers\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"\r\n" + BODY
)


class World:
    def __init__(self, pool: KeyPool) -> None:
        self.clock = FixedClock(EPOCH)
        self.contoso = OrgCA.create("Contoso", "contoso.example", clock=self.clock, keys=pool,
                                    intermediate=True)  # fmt: skip
        self.fabrikam = OrgCA.create("Fabrikam", "fabrikam.example", clock=self.clock, keys=pool)
        # Certificates say alice@contoso.example; MESSAGE's From: differs only in domain case.
        self.alice = self._enroll(self.contoso, "alice@contoso.example")
        self.bob = self._enroll(self.contoso, "bob@contoso.example", separate_encryption_key=True)
        self.carol = self._enroll(self.contoso, "carol@contoso.example", key_type=KeyType.EC_P256)
        self.dave = self._enroll(self.contoso, "dave@contoso.example")  # gets revoked
        self.mallory = self._enroll(self.fabrikam, "mallory@fabrikam.example")
        self.legacy = self.contoso.issue(  # address only in the subject emailAddress
            CertificateSpec(email="alice@contoso.example", san_emails=(),
                            subject_email="alice@contoso.example")
        )  # fmt: skip

    @staticmethod
    def _enroll(ca: OrgCA, address: str, **options: object) -> Enrollment:
        return ca.enroll(address, ca.issue_token(address).secret, **options)  # type: ignore[arg-type]

    def check(self, message: bytes, **options: object) -> VerificationResult:
        anchors = options.pop("anchors", [self.contoso.root])
        return verify(message, anchors=anchors, at=EPOCH, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def world(key_pool: KeyPool) -> World:
    return World(key_pool)


# --- helpers that take a signature apart and put it back together -----------------------


def _der_of(message: bytes) -> bytes:
    try:
        return signed_parts(message).signature
    except InputError:
        return pkcs7_payload(message[message.index(b"Content-Type:") :])


def _with_der(message: bytes, der: bytes) -> bytes:
    """Replace the SignedData in a detached or opaque message."""
    old = base64.encodebytes(_der_of(message)).replace(b"\n", b"\r\n")
    new = base64.encodebytes(der).replace(b"\n", b"\r\n")
    assert old in message
    return message.replace(old, new)


def _rebuild(der: bytes, **changes: object) -> bytes:
    parsed = parse_signed_data(der)
    info = parsed.signers[0]
    fields: dict[str, object] = {
        "content": parsed.content,
        "digest_oid": info.digest_oid,
        "signature_algorithm": info.signature_algorithm,
        "signer": info.signer.issuer_serial or info.signer.subject_key_identifier,
        "signed_attributes": info.signed_der_candidates[0] if info.signed_der_candidates else None,
        "signature": info.signature,
        "certificates": parsed.certificates,
    }
    fields.update(changes)
    return signed_data_der(**fields)  # type: ignore[arg-type]


def _craft(
    signer: Credential,
    content: bytes,
    *,
    attributes: bool = True,
    by_key_id: bool = False,
    certificates: tuple[bytes, ...] | None = None,
    **attribute_options: object,
) -> bytes:
    """An opaque signed message built piece by piece, for structures sign() does not make."""
    key = signer.private_key
    assert isinstance(key, rsa.RSAPrivateKey)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(content)
    signed_attributes = (
        signed_attributes_der(
            content_type=OID_DATA, message_digest=digest.finalize(), signing_time=EPOCH,
            **attribute_options,  # type: ignore[arg-type]
        )
        if attributes
        else None
    )  # fmt: skip
    to_sign = content if signed_attributes is None else signed_attributes
    ski = signer.certificate.extensions.get_extension_for_class
    der = signed_data_der(
        content=content,
        digest_oid=DigestAlgorithm.SHA256.oid,
        signature_algorithm=signature_algorithm(RSA, DigestAlgorithm.SHA256),
        signer=ski(_ski_class()).value.digest if by_key_id else issuer_serial(signer.certificate),
        signed_attributes=signed_attributes,
        signature=key.sign(to_sign, padding.PKCS1v15(), hashes.SHA256()),
        certificates=certificates
        if certificates is not None
        else (signer.certificate.public_bytes(DER), *(c.public_bytes(DER) for c in signer.chain)),
    )
    return b"From: alice@contoso.example\r\n" + pkcs7_mime_entity(der, "signed-data")


def _ski_class() -> type:
    from cryptography import x509

    return x509.SubjectKeyIdentifier


def _tlvs(der: bytes) -> list[tuple[int, bytes, bytes]]:
    """Split DER into (tag, whole encoding, value) triples (single-byte tags only)."""
    items = []
    index = 0
    while index < len(der):
        start, tag = index, der[index]
        length = der[index + 1]
        index += 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(der[index : index + count], "big")
            index += count
        items.append((tag, der[start : index + length], der[index : index + length]))
        index += length
    return items


# Which constructed values to re-encode with indefinite length, by their path of
# tags from the ContentInfo down: the wrappers streaming encoders make indefinite
# (X.690 §8.1.3.6), the signed attributes, and the eContent as a chunked string.
_BER_PATHS = {
    (0x30,), (0x30, 0xA0), (0x30, 0xA0, 0x30), (0x30, 0xA0, 0x30, 0x30),
    (0x30, 0xA0, 0x30, 0x30, 0xA0), (0x30, 0xA0, 0x30, 0x31), (0x30, 0xA0, 0x30, 0x31, 0x30),
    (0x30, 0xA0, 0x30, 0x31, 0x30, 0xA0), (0x30, 0xA0, 0x30, 0x31, 0x30, 0xA0, 0x30),
    (0x30, 0xA0, 0x30, 0x31, 0x30, 0xA0, 0x30, 0x31),
}  # fmt: skip


def _to_indefinite(der: bytes, path: tuple[int, ...] = ()) -> bytes:
    out = bytearray()
    for tag, whole, value in _tlvs(der):
        here = (*path, tag)
        if here in _BER_PATHS:
            out += bytes([tag]) + b"\x80" + _to_indefinite(value, here) + b"\x00\x00"
        elif tag == 0x04 and path == (0x30, 0xA0, 0x30, 0x30, 0xA0):
            chunks = [value[i : i + 64] for i in range(0, len(value), 64)]
            out += b"\x24\x80" + b"".join(_octets(chunk) for chunk in chunks) + b"\x00\x00"
        else:
            out += whole
    return bytes(out)


def _octets(chunk: bytes) -> bytes:
    assert len(chunk) < 128
    return bytes([0x04, len(chunk)]) + chunk


# --- round trips ------------------------------------------------------------------------

ROUND_TRIPS = [
    *((s, d) for s in (RSA, PSS) for d in ("sha256", "sha384", "sha512")),
    (ECDSA, "sha256"),
    (RSA, "sha1"),
]


@pytest.mark.parametrize("opaque", [False, True], ids=["detached", "opaque"])
@pytest.mark.parametrize(("scheme", "digest"), ROUND_TRIPS, ids=lambda v: getattr(v, "value", v))
def test_round_trip(world: World, scheme: SignatureScheme, digest: str, opaque: bool) -> None:
    signer = world.carol if scheme is ECDSA else world.alice
    message = MESSAGE.replace(b"alice@Contoso", b"carol@contoso") if scheme is ECDSA else MESSAGE
    signed = sign(message, signer.signing, clock=world.clock, digest=DigestAlgorithm(digest),
                  scheme=scheme, opaque=opaque)  # fmt: skip
    result = world.check(signed)
    assert (result.status, result.reasons) == ("valid", ())
    assert result.intact and result.trusted
    assert result.address_match is AddressMatch.MATCH
    assert result.digest is DigestAlgorithm(digest)
    assert result.scheme is scheme
    assert result.signer == signer.signing.certificate
    assert result.signing_time == EPOCH
    assert result.content == b"Content-Type: text/plain; charset=us-ascii\r\n\r\n" + BODY
    assert result.trust.chain[-1] == world.contoso.root


def test_result_lists_certificates_and_capabilities(world: World) -> None:
    result = world.check(sign(MESSAGE, world.alice.signing, clock=world.clock))
    assert set(result.certificates) == {world.alice.signing.certificate, *world.contoso.chain}
    assert result.capabilities == (
        ContentCipher.AES_256_GCM,
        ContentCipher.AES_192_GCM,
        ContentCipher.AES_128_GCM,
        ContentCipher.AES_256_CBC,
        ContentCipher.AES_192_CBC,
        ContentCipher.AES_128_CBC,
    )
    assert result.capability_oids[-1] == "1.2.840.113549.1.1.7"  # RSAES-OAEP
    assert result.encryption_certificate == world.alice.signing.certificate  # dual use


def test_separate_encryption_certificate_is_found(world: World) -> None:
    bob = world.bob
    signed = sign(MESSAGE.replace(b"alice@Contoso", b"bob@contoso"), bob.signing,
                  clock=world.clock, encryption_certificate=bob.encryption.certificate)  # fmt: skip
    result = world.check(signed)
    assert result.status == "valid"
    assert result.encryption_certificate == bob.encryption.certificate
    assert result.signer == bob.signing.certificate


def test_microsoft_attribute_alone_names_the_encryption_certificate(world: World) -> None:
    bob = world.bob
    certificates = tuple(c.public_bytes(DER) for c in (bob.signing.certificate,
                                                       bob.encryption.certificate))  # fmt: skip
    message = _craft(bob.signing, b"Content-Type: text/plain\r\n\r\nhi\r\n",
                     certificates=certificates,
                     microsoft_encryption_key=issuer_serial(bob.encryption.certificate),
                     )  # fmt: skip
    result = world.check(message, sender="bob@contoso.example")
    assert result.intact
    assert result.encryption_certificate == bob.encryption.certificate


# --- tampering --------------------------------------------------------------------------


def _tampered(world: World, opaque: bool, change: Callable[[bytes], bytes]) -> VerificationResult:
    signed = sign(MESSAGE, world.alice.signing, clock=world.clock, opaque=opaque)
    return world.check(change(signed))


@pytest.mark.parametrize("opaque", [False, True], ids=["detached", "opaque"])
def test_changed_body_byte_is_tampered(world: World, opaque: bool) -> None:
    def change(signed: bytes) -> bytes:
        if not opaque:
            return signed.replace(b"numbers are in", b"numbers are iN")
        der = _der_of(signed)
        content = parse_signed_data(der).content
        assert content is not None
        return _with_der(signed, _rebuild(der, content=content.replace(b"in.", b"iN.")))

    result = _tampered(world, opaque, change)
    assert (result.intact, result.status) == (False, "tampered")
    assert "the content's digest differs from the signed messageDigest" in result.reasons
    assert result.trusted  # trust is judged separately from integrity


def test_changed_signed_attribute_is_tampered(world: World) -> None:
    def change(signed: bytes) -> bytes:
        der = _der_of(signed)
        attributes = parse_signed_data(der).signers[0].attributes
        assert attributes is not None and attributes.message_digest is not None
        forged = signed_attributes_der(
            content_type=OID_DATA,
            message_digest=attributes.message_digest,
            signing_time=EPOCH - dt.timedelta(days=30),  # back-dated
        )
        return _with_der(signed, _rebuild(der, signed_attributes=forged))

    result = _tampered(world, False, change)
    assert result.status == "tampered"
    assert result.reasons == ("the signature over the signed attributes does not verify",)
    assert result.signing_time == EPOCH - dt.timedelta(days=30)


def _signed_with_attributes(world: World, attributes: list[object]) -> bytes:
    """An opaque message whose signer really signed exactly these attributes."""
    from asn1crypto import cms

    signer = world.alice.signing
    key = signer.private_key
    assert isinstance(key, rsa.RSAPrivateKey)
    encoded = cms.CMSAttributes(attributes).dump()
    der = signed_data_der(
        content=MESSAGE,
        digest_oid=DigestAlgorithm.SHA256.oid,
        signature_algorithm=signature_algorithm(RSA, DigestAlgorithm.SHA256),
        signer=issuer_serial(signer.certificate),
        signed_attributes=encoded,
        signature=key.sign(encoded, padding.PKCS1v15(), hashes.SHA256()),
        certificates=(
            signer.certificate.public_bytes(DER),
            *(c.public_bytes(DER) for c in signer.chain),
        ),
    )
    return b"From: alice@contoso.example\r\n" + pkcs7_mime_entity(der, "signed-data")


@pytest.mark.parametrize(
    ("shape", "name"),
    [
        ("second messageDigest", "messageDigest"),
        ("two digest values", "messageDigest"),
        ("second contentType", "contentType"),
        ("no signingTime value", "signingTime"),
    ],
)
def test_repeated_or_multi_valued_attribute_is_refused(world: World, shape: str, name: str) -> None:
    # RFC 5652 §11.1-11.3: a signer may sign two messageDigest attributes, one over the
    # shown content and one over another; the signature is good, the message is not.
    from asn1crypto import cms

    hasher = hashes.Hash(hashes.SHA256())
    hasher.update(MESSAGE)
    digest, other = hasher.finalize(), bytes(32)

    def attribute(kind: str, *values: object) -> object:
        return cms.CMSAttribute({"type": kind, "values": list(values)})

    when = cms.Time({"utc_time": EPOCH})
    attributes = [
        attribute("content_type", "data"),
        attribute("signing_time", when),
        attribute("message_digest", digest),
    ]
    if shape == "second messageDigest":
        attributes.append(attribute("message_digest", other))
    elif shape == "two digest values":
        attributes[2] = attribute("message_digest", digest, other)
    elif shape == "second contentType":
        attributes.append(attribute("content_type", "data"))
    else:
        attributes[1] = attribute("signing_time")
    result = world.check(_signed_with_attributes(world, attributes))
    assert (result.intact, result.status) == (False, "tampered")
    assert any(f"the {name} attribute is not single-valued" in r for r in result.reasons)
    assert result.trusted  # the signer and its chain are fine: integrity is what fails


def test_single_valued_attributes_built_by_hand_verify(world: World) -> None:
    # The control for the test above: the same construction, each attribute once.
    from asn1crypto import cms

    hasher = hashes.Hash(hashes.SHA256())
    hasher.update(MESSAGE)
    attributes = [
        cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
        cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": EPOCH})]}),
        cms.CMSAttribute({"type": "message_digest", "values": [hasher.finalize()]}),
    ]
    assert world.check(_signed_with_attributes(world, attributes)).status == "valid"


def test_changed_signature_is_tampered(world: World) -> None:
    def change(signed: bytes) -> bytes:
        der = _der_of(signed)
        signature = bytearray(parse_signed_data(der).signers[0].signature)
        signature[10] ^= 0x01
        return _with_der(signed, _rebuild(der, signature=bytes(signature)))

    assert _tampered(world, True, change).status == "tampered"


def test_swapped_certificate_is_tampered(world: World) -> None:
    # Mallory's certificate, re-issued under Alice's issuer name and serial, would
    # need Contoso's key; swapping in any other certificate loses the signer.
    mallory = world.mallory.signing.certificate.public_bytes(DER)

    def change(signed: bytes) -> bytes:
        return _with_der(signed, _rebuild(_der_of(signed), certificates=(mallory,)))

    result = _tampered(world, False, change)
    assert result.status == "tampered"
    assert result.signer is None
    assert result.trust.status is TrustStatus.INVALID
    assert "the signer's certificate is not in the message" in result.reasons


def test_key_swapped_under_the_same_name_is_tampered(world: World, key_pool: KeyPool) -> None:
    # A certificate with Alice's issuer and serial but another key (a forged twin).
    alice = world.alice.signing.certificate
    twin = world.contoso.issue(CertificateSpec(email="alice@contoso.example"))
    message = _craft(twin, b"Content-Type: text/plain\r\n\r\nhi\r\n")
    der = _der_of(message)
    parsed = parse_signed_data(der)
    forged = _rebuild(der, signer=issuer_serial(alice),
                      certificates=(alice.public_bytes(DER), *parsed.certificates[1:]))  # fmt: skip
    result = world.check(_with_der(message, forged))
    assert result.status == "tampered"
    assert result.signer == alice


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(st.data())
def test_any_changed_body_byte_is_tampered(world: World, data: st.DataObject) -> None:
    signed = sign(MESSAGE, world.alice.signing, clock=world.clock)
    start = signed.index(BODY)
    position = data.draw(st.integers(start, start + len(BODY) - 3), label="position")
    if signed[position : position + 1] in (b"\r", b"\n"):
        position -= 2
    replacement = data.draw(st.sampled_from(b"xyzXYZ019"), label="byte")
    changed = signed[:position] + bytes([replacement]) + signed[position + 1 :]
    if changed == signed:
        return
    assert world.check(changed).status == "tampered"


# --- trust and address ------------------------------------------------------------------


def test_untrusted_anchor(world: World) -> None:
    signed = sign(MESSAGE, world.alice.signing, clock=world.clock)
    result = world.check(signed, anchors=[world.fabrikam.root])
    assert result.intact
    assert result.status == "untrusted-issuer"
    assert not result.trusted
    assert any(reason.startswith("signer not trusted:") for reason in result.reasons)


def test_expired_signer(world: World) -> None:
    signed = sign(MESSAGE, world.alice.signing, clock=world.clock)
    later = verify(signed, anchors=[world.contoso.root], at=EPOCH + dt.timedelta(days=800))
    assert (later.intact, later.status) == (True, "expired")


def test_revoked_signer(world: World) -> None:
    dave = world.dave.signing
    signed = sign(MESSAGE.replace(b"alice@Contoso", b"dave@contoso"), dave, clock=world.clock)
    world.contoso.revoke(dave.certificate, RevocationReason.KEY_COMPROMISE)
    result = world.check(signed, crls=[world.contoso.crl()])
    assert (result.intact, result.status) == (True, "revoked")


def test_address_mismatch(world: World) -> None:
    mallory = MESSAGE.replace(b"Alice <alice@Contoso.Example>", b"mallory@fabrikam.example")
    result = world.check(sign(mallory, world.alice.signing, clock=world.clock))
    assert result.intact and result.trusted
    assert result.address_match is AddressMatch.MISMATCH
    assert result.status == "address-mismatch"
    assert result.reasons == (
        "sender mallory@fabrikam.example is not in the certificate (alice@contoso.example)",
    )


@pytest.mark.parametrize(
    ("sender", "match"),
    [
        ("alice@contoso.example", AddressMatch.MATCH),
        ("alice@CONTOSO.example", AddressMatch.MATCH),  # domains ignore case
        ("ALICE@contoso.example", AddressMatch.MISMATCH),  # local parts do not (RFC 5280 §7.5)
        ("alice@fabrikam.example", AddressMatch.MISMATCH),
    ],
)
def test_sender_overrides_from(world: World, sender: str, match: AddressMatch) -> None:
    signed = sign(MESSAGE, world.alice.signing, clock=world.clock)
    assert world.check(signed, sender=sender).address_match is match


def test_no_sender_is_unknown_but_valid(world: World) -> None:
    entity = b"Content-Type: text/plain\r\n\r\nhi\r\n"
    result = world.check(sign(entity, world.alice.signing, clock=world.clock))
    assert result.address_match is AddressMatch.UNKNOWN
    assert result.status == "valid"


def test_subject_email_address_is_the_fallback(world: World) -> None:
    signed = sign(MESSAGE, world.legacy, clock=world.clock)
    assert world.check(signed).address_match is AddressMatch.MATCH


# --- quirks of real clients -------------------------------------------------------------


@pytest.mark.parametrize("opaque", [False, True], ids=["detached", "opaque"])
def test_lf_only_stored_message_verifies(world: World, opaque: bool) -> None:
    signed = sign(MESSAGE, world.alice.signing, clock=world.clock, opaque=opaque)
    stored = signed.replace(b"\r\n", b"\n")
    assert world.check(stored).status == "valid"


def test_legacy_x_pkcs7_labels_and_micalg_spellings(world: World) -> None:
    signed = sign(MESSAGE, world.alice.signing, clock=world.clock)
    legacy = signed.replace(b'protocol="application/pkcs7-signature"',
                            b'protocol="application/x-pkcs7-signature"')  # fmt: skip
    legacy = legacy.replace(b'micalg="sha-256"', b"micalg=SHA256")
    assert legacy != signed
    assert world.check(legacy).status == "valid"
    both_legacy = legacy.replace(b"Content-Type: application/pkcs7-signature",
                                 b"Content-Type: application/x-pkcs7-signature")  # fmt: skip
    assert world.check(both_legacy).status == "valid"


def test_legacy_x_pkcs7_mime_opaque(world: World) -> None:
    signed = sign(MESSAGE, world.alice.signing, clock=world.clock, opaque=True)
    legacy = signed.replace(b"application/pkcs7-mime", b"application/x-pkcs7-mime")
    assert world.check(legacy).status == "valid"


def test_sha1_is_accepted_and_reported(world: World) -> None:
    signed = sign(MESSAGE, world.alice.signing, clock=world.clock, digest=DigestAlgorithm.SHA1)
    result = world.check(signed.replace(b'micalg="sha-1"', b"micalg=SHA1"))
    assert (result.status, result.digest) == ("valid", DigestAlgorithm.SHA1)


def test_ber_indefinite_lengths_verify(world: World) -> None:
    signed = sign(MESSAGE, world.alice.signing, clock=world.clock, opaque=True)
    ber = _to_indefinite(_der_of(signed))
    assert ber.startswith(b"\x30\x80") and b"\x24\x80" in ber  # chunked eContent too
    info = parse_signed_data(ber).signers[0]
    assert len(info.signed_der_candidates) == 2  # as received, then DER again
    result = world.check(_with_der(signed, ber))
    assert result.status == "valid"
    assert result.content == world.check(signed).content


def test_no_signed_attributes_signs_the_content(world: World) -> None:
    content = b"Content-Type: text/plain\r\n\r\nno attributes\r\n"
    message = _craft(world.alice.signing, content, attributes=False)
    result = world.check(message)
    assert (result.status, result.signing_time, result.capabilities) == ("valid", None, ())
    assert result.content == content
    der = _der_of(message)
    changed = _rebuild(der, content=content.replace(b"no", b"NO"))
    assert world.check(_with_der(message, changed)).status == "tampered"


def test_subject_key_identifier_signer(world: World) -> None:
    message = _craft(
        world.alice.signing, b"Content-Type: text/plain\r\n\r\nski\r\n", by_key_id=True
    )
    signer = parse_signed_data(_der_of(message)).signers[0].signer
    assert signer.issuer_serial is None and signer.subject_key_identifier
    result = world.check(message)
    assert result.status == "valid"
    assert result.signer == world.alice.signing.certificate


@pytest.mark.interop
@pytest.mark.requires_tool("openssl")
def test_openssl_streamed_ber_verifies(world: World, tmp_path: Path) -> None:
    alice = world.alice.signing
    (tmp_path / "cert.pem").write_bytes(alice.certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        alice.private_key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    )  # fmt: skip
    (tmp_path / "chain.pem").write_bytes(
        b"".join(c.public_bytes(serialization.Encoding.PEM) for c in alice.chain)
    )
    (tmp_path / "in.txt").write_bytes(b"Content-Type: text/plain\r\n\r\nstreamed\r\n")
    run = subprocess.run(
        ["openssl", "cms", "-sign", "-stream", "-nodetach", "-binary", "-outform", "DER",
         "-signer", str(tmp_path / "cert.pem"), "-inkey", str(tmp_path / "key.pem"),
         "-certfile", str(tmp_path / "chain.pem"), "-in", str(tmp_path / "in.txt")],
        capture_output=True, check=False, timeout=30,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr.decode()
    assert run.stdout[1] == 0x80  # indefinite length
    result = world.check(pkcs7_mime_entity(run.stdout, "signed-data"))
    assert result.status == "valid"
    assert result.content == b"Content-Type: text/plain\r\n\r\nstreamed\r\n"


# --- bad input --------------------------------------------------------------------------


def _opaque_with(der: bytes) -> bytes:
    return pkcs7_mime_entity(der, "signed-data")


def test_plain_message_is_refused(world: World) -> None:
    with pytest.raises(InputError, match=r"expected a signed message .* found a plain entity"):
        world.check(MESSAGE)


def test_garbage_der_is_a_decode_error(world: World) -> None:
    with pytest.raises(DecodeError, match="expected a CMS SignedData ContentInfo, found"):
        world.check(_opaque_with(b"\x30\x03\x02\x01"))


def test_truncated_der_is_a_decode_error(world: World) -> None:
    signed = sign(MESSAGE, world.alice.signing, clock=world.clock, opaque=True)
    der = _der_of(signed)
    for cut in (len(der) // 3, len(der) - 1):
        with pytest.raises(DecodeError) as caught:
            world.check(_opaque_with(der[:cut]))
        assert "\n" not in str(caught.value)


def test_wrong_cms_content_type(world: World) -> None:
    data = signed_data_der(
        content=b"x", digest_oid=DigestAlgorithm.SHA256.oid,
        signature_algorithm=signature_algorithm(RSA, DigestAlgorithm.SHA256),
        signer=b"\x01", signed_attributes=None, signature=b"\x00", certificates=(),
    )  # fmt: skip
    # Relabel the outer contentType from signed-data (…07 02) to enveloped-data (…07 03).
    pkcs7 = b"\x2a\x86\x48\x86\xf7\x0d\x01\x07"
    enveloped = data.replace(pkcs7 + b"\x02", pkcs7 + b"\x03", 1)
    with pytest.raises(InputError, match=r"expected CMS signed-data .* found content type"):
        world.check(_opaque_with(enveloped))


def test_missing_signature_part(world: World) -> None:
    signed = sign(MESSAGE, world.alice.signing, clock=world.clock)
    boundary = signed.split(b'boundary="', 1)[1].split(b'"', 1)[0]
    first_part_only = signed[: signed.index(b"--" + boundary + b"\r\nContent-Type: application")]
    with pytest.raises(DecodeError, match="expected two body parts"):
        world.check(first_part_only + b"--" + boundary + b"--\r\n")


def test_unknown_digest_algorithm(world: World) -> None:
    signed = sign(MESSAGE, world.alice.signing, clock=world.clock, opaque=True)
    der = _rebuild(_der_of(signed), digest_oid="1.2.3.4.5")
    with pytest.raises(
        UnsupportedAlgorithmError, match=r"unsupported digest algorithm 1\.2\.3\.4\.5"
    ):
        world.check(_with_der(signed, der))


def test_unknown_signature_algorithm(world: World) -> None:
    signed = sign(MESSAGE, world.alice.signing, clock=world.clock, opaque=True)
    der = _rebuild(_der_of(signed), signature_algorithm=AlgorithmIdentifier(oid="1.2.3.9"))
    with pytest.raises(
        UnsupportedAlgorithmError, match=r"unsupported signature algorithm 1\.2\.3\.9"
    ):
        world.check(_with_der(signed, der))


def test_result_is_a_frozen_value(world: World) -> None:
    result = world.check(sign(MESSAGE, world.alice.signing, clock=world.clock))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.intact = False  # type: ignore[misc]

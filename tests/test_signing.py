"""engine.smime.signing: the shape of what is signed and the signed attributes carried."""

from __future__ import annotations

import datetime as dt
import email
import subprocess
from email import policy
from email.message import Message
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from engine.clock import FixedClock
from engine.cms.algorithms import (
    MGF1,
    RSA_ENCRYPTION,
    RSASSA_PSS,
    ContentCipher,
    DigestAlgorithm,
    SignatureScheme,
)
from engine.cms.content_types import OID_DATA
from engine.cms.identifiers import IssuerSerial, KeyReference
from engine.cms.parameters import AlgorithmIdentifier, PssParameters, null_der
from engine.cms.signed import SignedDataContent, SignerInfoData, parse_signed_data
from engine.errors import InputError
from engine.pki.authority import Enrollment, OrgCA
from engine.pki.keys import KeyPool, KeyType
from engine.smime.multipart import signed_parts
from engine.smime.pkcs7 import pkcs7_payload
from engine.smime.signing import DEFAULT_CAPABILITIES, OID_RSAES_OAEP, sign
from engine.smime.verification import verify

EPOCH = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)  # the clock fixture's time

MESSAGE = (
    b"From: Alice <alice@contoso.example>\r\n"
    b"To: bob@fabrikam.example\r\n"
    b"Subject: Quarterly numbers\r\n"
    b"Date: Mon, 01 Jun 2026 12:00:00 +0000\r\n"
    b"Message-ID: <1@contoso.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"Content-Transfer-Encoding: 7bit\r\n"
    b"\r\n"
    b"The numbers are in.\r\n"
)


class People:
    def __init__(self, pool: KeyPool) -> None:
        self.clock = FixedClock(EPOCH)
        self.ca = OrgCA.create("Contoso", "contoso.example", clock=self.clock, keys=pool,
                               intermediate=True)  # fmt: skip
        self.alice = self._enroll("alice@contoso.example")
        self.bob = self._enroll("bob@contoso.example", separate_encryption_key=True)
        self.carol = self._enroll("carol@contoso.example", key_type=KeyType.EC_P256)

    def _enroll(self, address: str, **options: object) -> Enrollment:
        token = self.ca.issue_token(address)
        return self.ca.enroll(address, token.secret, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def people(key_pool: KeyPool) -> People:
    return People(key_pool)


def _signer_info(signed: bytes) -> tuple[SignedDataContent, SignerInfoData]:
    message = email.message_from_bytes(signed, policy=policy.compat32)
    if message.get_content_type() == "multipart/signed":
        der = signed_parts(signed).signature
    else:
        der = pkcs7_payload(signed)
    parsed = parse_signed_data(der)
    return parsed, parsed.signers[0]


# --- shape ------------------------------------------------------------------------------------


def test_detached_signature_shape(people: People) -> None:
    signed = sign(MESSAGE, people.alice.signing, clock=people.clock)
    message = email.message_from_bytes(signed, policy=policy.compat32)
    assert message["From"] == "Alice <alice@contoso.example>"
    assert message["Message-ID"] == "<1@contoso.example>"
    assert message["MIME-Version"] == "1.0"
    assert message.get_content_type() == "multipart/signed"
    assert message.get_param("protocol") == "application/pkcs7-signature"
    assert message.get_param("micalg") == "sha-256"
    payload = message.get_payload()
    assert isinstance(payload, list)
    inner, signature = [part for part in payload if isinstance(part, Message)]
    assert inner.get_content_type() == "text/plain"
    assert inner["Content-Transfer-Encoding"] == "7bit"
    assert inner["From"] is None  # outer headers stay outside the signed entity
    assert signature.get_content_type() == "application/pkcs7-signature"
    assert signature["Content-Transfer-Encoding"] == "base64"
    assert b"\n" not in signed.replace(b"\r\n", b"")


@pytest.mark.parametrize(
    ("digest", "micalg"),
    [
        (DigestAlgorithm.SHA1, "sha-1"),
        (DigestAlgorithm.SHA256, "sha-256"),
        (DigestAlgorithm.SHA384, "sha-384"),
        (DigestAlgorithm.SHA512, "sha-512"),
    ],
)
def test_micalg_names_the_digest(people: People, digest: DigestAlgorithm, micalg: str) -> None:
    signed = sign(MESSAGE, people.alice.signing, clock=people.clock, digest=digest)
    assert signed_parts(signed).micalg == micalg
    assert _signer_info(signed)[1].digest_oid == digest.oid


def test_opaque_signature_shape(people: People) -> None:
    signed = sign(MESSAGE, people.alice.signing, clock=people.clock, opaque=True)
    message = email.message_from_bytes(signed, policy=policy.compat32)
    assert message["Subject"] == "Quarterly numbers"
    assert message.get_content_type() == "application/pkcs7-mime"
    assert message.get_param("smime-type") == "signed-data"
    parsed, _ = _signer_info(signed)
    assert parsed.content_type == OID_DATA
    assert parsed.content is not None
    assert parsed.content.startswith(b"Content-Type: text/plain; charset=us-ascii\r\n")


def test_bare_entity_in_bare_entity_out(people: People) -> None:
    entity = b"Content-Type: text/plain\r\n\r\nJust a part.\r\n"
    signed = sign(entity, people.alice.signing, clock=people.clock)
    message = email.message_from_bytes(signed, policy=policy.compat32)
    assert [name for name, _ in message.items()] == ["MIME-Version", "Content-Type"]
    assert signed_parts(signed).content == entity


def test_message_without_content_type_signs_text_plain(people: People) -> None:
    plain = b"From: alice@contoso.example\nSubject: x\n\nhello\n"
    content = signed_parts(sign(plain, people.alice.signing, clock=people.clock)).content
    assert content == b"Content-Type: text/plain; charset=us-ascii\r\n\r\nhello\r\n"


def test_8bit_body_is_made_7bit_before_signing(people: People) -> None:
    plain = "From: alice@contoso.example\nSubject: x\n\nGrüße aus Köln\n".encode()
    signed = sign(plain, people.alice.signing, clock=people.clock)
    assert signed.isascii()
    content = signed_parts(signed).content
    inner = email.message_from_bytes(content, policy=policy.default)
    assert inner["Content-Transfer-Encoding"] == "quoted-printable"
    assert inner.get_content().replace("\r\n", "\n") == "Grüße aus Köln\n"
    assert verify(signed, anchors=[people.ca.root], at=EPOCH).status == "valid"


def test_signing_is_deterministic_for_a_fixed_clock(people: People) -> None:
    first = sign(MESSAGE, people.alice.signing, clock=people.clock)
    assert sign(MESSAGE, people.alice.signing, clock=people.clock) == first


# --- signed attributes ---------------------------------------------------------------------


def test_signed_attributes(people: People) -> None:
    signed = sign(MESSAGE, people.alice.signing, clock=people.clock)
    _, info = _signer_info(signed)
    attributes = info.attributes
    assert attributes is not None
    assert attributes.content_type == OID_DATA
    assert attributes.signing_time == EPOCH
    assert [c.oid for c in attributes.capabilities] == [
        *(cipher.oid for cipher in DEFAULT_CAPABILITIES),
        OID_RSAES_OAEP,
    ]
    assert DEFAULT_CAPABILITIES[0] is ContentCipher.AES_256_GCM
    issuer_serial = IssuerSerial(
        issuer=people.alice.signing.certificate.issuer.public_bytes(),
        serial=people.alice.signing.certificate.serial_number,
    )
    # Dual-use certificate: both preference attributes name the signer's own.
    assert attributes.encryption_key_preference == KeyReference(issuer_serial=issuer_serial)
    assert attributes.microsoft_encryption_key == issuer_serial
    assert info.signer == KeyReference(issuer_serial=issuer_serial)
    # RFC 5652 §5.4: the received attributes are already the DER SET.
    assert len(info.signed_der_candidates) == 1
    assert info.signed_der_candidates[0][0] == 0x31


def test_capabilities_keep_the_given_order(people: People) -> None:
    order = (ContentCipher.AES_128_CBC, ContentCipher.AES_256_GCM)
    signed = sign(
        MESSAGE, people.alice.signing, clock=people.clock, capabilities=order, key_transports=()
    )
    attributes = _signer_info(signed)[1].attributes
    assert attributes is not None
    assert [c.oid for c in attributes.capabilities] == [c.oid for c in order]


def test_separate_encryption_certificate_is_named_and_carried(people: People) -> None:
    bob = people.bob
    signed = sign(
        MESSAGE, bob.signing, clock=people.clock, encryption_certificate=bob.encryption.certificate
    )
    parsed, info = _signer_info(signed)
    attributes = info.attributes
    assert attributes is not None
    encryption = bob.encryption.certificate
    assert attributes.microsoft_encryption_key == IssuerSerial(
        issuer=encryption.issuer.public_bytes(), serial=encryption.serial_number
    )
    assert encryption.public_bytes(serialization.Encoding.DER) in parsed.certificates


def test_signing_only_certificate_names_no_encryption_key(people: People) -> None:
    signed = sign(MESSAGE, people.bob.signing, clock=people.clock)
    attributes = _signer_info(signed)[1].attributes
    assert attributes is not None
    assert attributes.encryption_key_preference is None
    assert attributes.microsoft_encryption_key is None


def test_chain_is_included_unless_asked_not_to(people: People) -> None:
    alice = people.alice.signing
    der = serialization.Encoding.DER
    with_chain = _signer_info(sign(MESSAGE, alice, clock=people.clock))[0].certificates
    assert set(with_chain) == {c.public_bytes(der) for c in (alice.certificate, *alice.chain)}
    alone = sign(MESSAGE, alice, clock=people.clock, include_chain=False)
    assert _signer_info(alone)[0].certificates == (alice.certificate.public_bytes(der),)


# --- algorithms -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "digest", [DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512]
)
def test_pss_parameters_follow_rfc_4056(people: People, digest: DigestAlgorithm) -> None:
    signed = sign(
        MESSAGE, people.alice.signing, clock=people.clock, digest=digest,
        scheme=SignatureScheme.RSA_PSS,
    )  # fmt: skip
    info = _signer_info(signed)[1]
    assert info.signature_algorithm.oid == RSASSA_PSS
    assert info.pss == PssParameters(
        hash_oid=digest.oid,
        mgf_oid=MGF1,
        mgf_hash_oid=digest.oid,
        salt_length=digest.hash().digest_size,
        trailer_field=1,
    )


def test_algorithm_identifiers(people: People) -> None:
    rsa = _signer_info(sign(MESSAGE, people.alice.signing, clock=people.clock))[1]
    assert rsa.signature_algorithm == AlgorithmIdentifier(oid=RSA_ENCRYPTION, parameters=null_der())
    ecdsa = _signer_info(sign(MESSAGE, people.carol.signing, clock=people.clock))[1]
    assert ecdsa.signature_algorithm == AlgorithmIdentifier(oid="1.2.840.10045.4.3.2")


def test_scheme_must_fit_the_key(people: People) -> None:
    with pytest.raises(InputError, match="expected an RSA signature scheme for an RSA key"):
        sign(MESSAGE, people.alice.signing, clock=people.clock, scheme=SignatureScheme.ECDSA)
    with pytest.raises(InputError, match="expected ecdsa for an EC key, found rsassa-pss"):
        sign(MESSAGE, people.carol.signing, clock=people.clock, scheme=SignatureScheme.RSA_PSS)


def test_naive_clock_time_is_refused(people: People) -> None:
    class NaiveClock:
        def now(self) -> dt.datetime:
            return dt.datetime(2026, 6, 1, 12, 0)  # naive on purpose

    with pytest.raises(InputError, match="timezone-aware signing time"):
        sign(MESSAGE, people.alice.signing, clock=NaiveClock())


# --- openssl smoke test (the full interop suite lives in tests/interop/) --------------------------


@pytest.mark.interop
@pytest.mark.requires_tool("openssl")
@pytest.mark.parametrize("opaque", [False, True], ids=["detached", "opaque"])
def test_openssl_verifies_what_we_sign(people: People, tmp_path: Path, opaque: bool) -> None:
    anchor = tmp_path / "root.pem"
    anchor.write_bytes(people.ca.root.public_bytes(serialization.Encoding.PEM))
    message = tmp_path / "signed.eml"
    message.write_bytes(sign(MESSAGE, people.alice.signing, clock=people.clock, opaque=opaque))
    result = subprocess.run(
        ["openssl", "cms", "-verify", "-CAfile", str(anchor), "-in", str(message),
         "-attime", str(int(EPOCH.timestamp())), "-purpose", "smimesign"],
        capture_output=True, check=False, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert b"The numbers are in." in result.stdout

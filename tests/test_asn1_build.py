"""The CMS structures the engine builds with asn1crypto are DER and parse back to their inputs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools

import pytest
from asn1crypto import cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from engine.cms import enveloped
from engine.cms.algorithms import RSA_ENCRYPTION, RSASSA_PSS
from engine.cms.attributes import (
    Capability,
    SignedEncodings,
    parse_attribute,
    signed_attributes,
    signed_attributes_der,
)
from engine.cms.content_types import OID_DATA
from engine.cms.identifiers import IssuerSerial, KeyReference
from engine.cms.parameters import (
    AlgorithmIdentifier,
    null_der,
    oaep_parameters_der,
    pss_parameters_der,
)
from engine.cms.signed import parse_signed_data, signed_data_der
from engine.errors import InputError

ISSUER = bytes.fromhex("300f310d300b06035504030c04526f6f74")  # CN=Root
SHA256 = "2.16.840.1.101.3.4.2.1"
EPOCH = dt.datetime(2026, 6, 1, 12, 0, 1, tzinfo=dt.UTC)


def _is_der(encoding: bytes, kind: type[core.Asn1Value] = cms.ContentInfo) -> bool:
    """asn1crypto's DER re-encoding gives the same bytes back (X.690 §10)."""
    return bool(kind.load(encoding).dump(force=True) == encoding)


@functools.cache
def _certificates() -> tuple[bytes, ...]:
    """Three small self-signed certificates (EC keys: no RSA generation in a unit test)."""
    ders = []
    for index in range(3):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Signer {index}")])
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(1000 + index)
            .not_valid_before(EPOCH)
            .not_valid_after(EPOCH + dt.timedelta(days=1))
            .sign(key, hashes.SHA256())
        )
        ders.append(certificate.public_bytes(serialization.Encoding.DER))
    return tuple(ders)


def _attributes(year: int = 2026) -> bytes:
    return signed_attributes_der(
        content_type=OID_DATA,
        message_digest=bytes(range(32)),
        signing_time=EPOCH.replace(year=year),
        capabilities=[
            Capability(oid="2.16.840.1.101.3.4.1.46"),
            Capability(oid="1.2.840.113549.1.1.7", parameters=oaep_parameters_der(SHA256)),
        ],
        encryption_key_preference=IssuerSerial(issuer=ISSUER, serial=2**70),
        microsoft_encryption_key=IssuerSerial(issuer=ISSUER, serial=7),
    )


@pytest.mark.parametrize("year", [2026, 2050, 1949])
def test_signed_attributes_are_der_and_parse_back(year: int) -> None:
    encoded = _attributes(year)
    assert _is_der(encoded, cms.CMSAttributes)
    members = [bytes(member.dump()) for member in cms.CMSAttributes.load(encoded)]
    assert members == sorted(members)  # SET OF in DER order (X.690 §11.6)
    parsed = signed_attributes([parse_attribute(member) for member in members])
    assert parsed.content_type == OID_DATA
    assert parsed.message_digest == bytes(range(32))
    assert parsed.signing_time == EPOCH.replace(year=year)
    assert [c.oid for c in parsed.capabilities] == [
        "2.16.840.1.101.3.4.1.46",
        "1.2.840.113549.1.1.7",
    ]
    assert parsed.capabilities[1].parameters == oaep_parameters_der(SHA256)
    reference = KeyReference(issuer_serial=IssuerSerial(issuer=ISSUER, serial=2**70))
    assert parsed.encryption_key_preference == reference
    assert parsed.microsoft_encryption_key == IssuerSerial(issuer=ISSUER, serial=7)


def test_lasting_attributes_are_shared_and_the_rest_is_not() -> None:
    first, second = _attributes(), _attributes()
    assert first == second
    other = signed_attributes_der(
        content_type=OID_DATA, message_digest=bytes(32), signing_time=EPOCH
    )
    assert other != first and _is_der(other, cms.CMSAttributes)


@pytest.mark.parametrize("signer", [IssuerSerial(issuer=ISSUER, serial=300), b"\x01" * 20])
@pytest.mark.parametrize("content", [None, b"", b"hello"])
@pytest.mark.parametrize("count", [0, 3])
def test_signed_data_is_der_and_parses_back(
    signer: IssuerSerial | bytes, content: bytes | None, count: int
) -> None:
    attributes = _attributes()
    certificates = list(_certificates()[:count])
    encoded = signed_data_der(
        content=content,
        digest_oid=SHA256,
        signature_algorithm=AlgorithmIdentifier(oid=RSA_ENCRYPTION, parameters=null_der()),
        signer=signer,
        signed_attributes=attributes,
        signature=b"\x02" * 256,
        certificates=certificates + certificates[:1],  # a repeated certificate is sent once
    )
    assert _is_der(encoded)
    parsed = parse_signed_data(encoded)
    assert parsed.content == content
    assert parsed.digest_oids == (SHA256,)
    assert sorted(parsed.certificates) == sorted(certificates)
    info = parsed.signers[0]
    if isinstance(signer, bytes):
        assert info.signer == KeyReference(subject_key_identifier=signer)
    else:
        assert info.signer == KeyReference(issuer_serial=signer)
    assert info.signed_der_candidates == (attributes,)
    assert info.signature == b"\x02" * 256
    assert cms.ContentInfo.load(encoded)["content"]["version"].native == (
        "v3" if isinstance(signer, bytes) else "v1"
    )


def test_signed_data_without_attributes_and_with_pss() -> None:
    parameters = pss_parameters_der(SHA256, 32)
    encoded = signed_data_der(
        content=b"hello",
        digest_oid=SHA256,
        signature_algorithm=AlgorithmIdentifier(oid=RSASSA_PSS, parameters=parameters),
        signer=IssuerSerial(issuer=ISSUER, serial=1),
        signed_attributes=None,
        signature=b"\x03" * 256,
        certificates=[],
    )
    assert _is_der(encoded)
    info = parse_signed_data(encoded).signers[0]
    assert info.attributes is None and tuple(info.signed_der_candidates) == ()
    assert info.pss is not None and (info.pss.hash_oid, info.pss.salt_length) == (SHA256, 32)


def _members(attributes: bytes) -> list[bytes]:
    return [bytes(m.dump()) for m in cms.CMSAttributes.load(attributes)]


@pytest.mark.parametrize("arrangement", ["sorted", "reversed", "long-length", "repeated"])
def test_signature_candidates_are_as_received_then_der(arrangement: str) -> None:
    members = _members(_attributes())
    if arrangement == "reversed":
        members.reverse()
    elif arrangement == "long-length":  # 0x81 for a length below 128: BER, not DER
        members[0] = members[0][:1] + b"\x81" + members[0][1:]
    elif arrangement == "repeated":
        members.append(members[-1])
    received = bytes(cms.CMSAttributes(contents=b"".join(members)).dump())
    encoded = signed_data_der(
        content=b"hello",
        digest_oid=SHA256,
        signature_algorithm=AlgorithmIdentifier(oid=RSA_ENCRYPTION),
        signer=IssuerSerial(issuer=ISSUER, serial=300),
        signed_attributes=received,
        signature=b"\x02" * 256,
        certificates=[],
    )
    candidates = parse_signed_data(encoded).signers[0].signed_der_candidates
    assert candidates[0] == received
    assert len(candidates) == (1 if arrangement in ("sorted", "repeated") else 2)
    assert _is_der(list(candidates)[-1], cms.CMSAttributes)


def test_the_der_re_encoding_is_put_together_only_when_asked_for() -> None:
    members = _members(_attributes())  # each one's DER, in DER order
    received = bytes(cms.CMSAttributes(contents=b"".join(reversed(members))).dump())
    candidates = SignedEncodings(received, members)
    assert next(iter(candidates)) == received
    assert candidates[0] == received
    assert candidates._all is None  # taking the first encoding built nothing
    assert len(candidates) == 2
    assert candidates[1] == bytes(cms.CMSAttributes(contents=b"".join(members)).dump())


def _ktri(rid: enveloped.RecipientId, **options: object) -> enveloped.KeyTransRecipient:
    return enveloped.KeyTransRecipient(
        rid=rid,
        algorithm_oid=enveloped.RSAES_OAEP if options else enveloped.RSAES_PKCS1_V1_5,
        encrypted_key=b"\x03" * 256,
        oaep=enveloped.OaepParameters(**options) if options else None,  # type: ignore[arg-type]
    )


RECIPIENTS = {
    "issuer-serial": (_ktri(enveloped.IssuerSerial(issuer=ISSUER, serial=9)),),
    "key-id": (_ktri(enveloped.KeyIdentifier(key_identifier=b"\x04" * 20)),),
    "oaep": (
        _ktri(
            enveloped.IssuerSerial(issuer=ISSUER, serial=9), hash_oid=SHA256, mgf_hash_oid=SHA256
        ),
        _ktri(enveloped.KeyIdentifier(key_identifier=b"\x05" * 20), label=b"label"),
    ),
    "ecdh": (
        enveloped.KeyAgreeRecipient(
            originator_point=b"\x04" + b"\x06" * 64,
            ukm=b"\x07" * 64,
            algorithm_oid="1.3.132.1.11.1",
            wrap_oid="2.16.840.1.101.3.4.1.45",
            encrypted_keys=(
                enveloped.RecipientEncryptedKey(
                    rid=enveloped.IssuerSerial(issuer=ISSUER, serial=10), encrypted_key=b"\x08" * 40
                ),
                enveloped.RecipientEncryptedKey(
                    rid=enveloped.KeyIdentifier(key_identifier=b"\x09" * 20),
                    encrypted_key=b"\x0a" * 40,
                ),
            ),
        ),
    ),
}


@pytest.mark.parametrize("recipients", RECIPIENTS.values(), ids=RECIPIENTS.keys())
@pytest.mark.parametrize(
    ("algorithm", "icv_length"),
    [
        ("2.16.840.1.101.3.4.1.42", None),
        ("2.16.840.1.101.3.4.1.2", None),
        ("2.16.840.1.101.3.4.1.46", 12),
        ("2.16.840.1.101.3.4.1.6", 16),
    ],
)
def test_enveloped_data_is_der_and_decodes_back(
    recipients: tuple[enveloped.Recipient, ...], algorithm: str, icv_length: int | None
) -> None:
    authenticated = icv_length is not None
    message = enveloped.EnvelopedMessage(
        authenticated=authenticated,
        recipients=recipients,
        content_type=enveloped.DATA,
        algorithm_oid=algorithm,
        iv=b"\x06" * (12 if authenticated else 16),
        icv_length=icv_length,
        encrypted_content=b"\x07" * 300,
        mac=b"\x08" * (icv_length or 0) if authenticated else None,
    )
    encoded = enveloped.encode_enveloped(message)
    assert _is_der(encoded)
    decoded = enveloped.decode_enveloped(encoded)
    # RecipientInfos is a SET OF: in DER order, not necessarily the order given.
    assert set(decoded.recipients) == set(recipients)
    assert dataclasses.replace(decoded, recipients=recipients) == message
    body = cms.ContentInfo.load(encoded)["content"]
    plain = all(
        isinstance(r, enveloped.KeyTransRecipient) and isinstance(r.rid, enveloped.IssuerSerial)
        for r in recipients
    )
    # RFC 5652 §6.1, RFC 5083 §2.1
    assert body["version"].native == ("v0" if authenticated or plain else "v2")


def test_gcm_icv_length_twelve_is_the_default_and_left_out() -> None:
    def parameters(icv_length: int) -> bytes:
        message = enveloped.EnvelopedMessage(
            authenticated=True,
            recipients=RECIPIENTS["issuer-serial"],
            content_type=enveloped.DATA,
            algorithm_oid="2.16.840.1.101.3.4.1.46",
            iv=b"\x06" * 12,
            icv_length=icv_length,
            encrypted_content=b"\x07" * 16,
            mac=b"\x08" * icv_length,
        )
        info = cms.ContentInfo.load(enveloped.encode_enveloped(message))
        algorithm = info["content"]["auth_encrypted_content_info"]["content_encryption_algorithm"]
        return bytes(algorithm["parameters"].dump())

    assert parameters(12) == bytes(
        core.Sequence(contents=core.OctetString(b"\x06" * 12).dump()).dump()
    )
    assert len(parameters(16)) == len(parameters(12)) + 3  # INTEGER 16 (RFC 5084 §3.2)


def test_a_received_issuer_name_is_read_as_der() -> None:
    # CN=Root with a long-form length where the short form is due: BER, not DER.
    ber_issuer = ISSUER[:1] + b"\x81" + ISSUER[1:]
    assert asn1_x509.Name.load(ber_issuer) == asn1_x509.Name.load(ISSUER)
    message = enveloped.EnvelopedMessage(
        authenticated=False,
        recipients=(_ktri(enveloped.IssuerSerial(issuer=ber_issuer, serial=9)),),
        content_type=enveloped.DATA,
        algorithm_oid="2.16.840.1.101.3.4.1.42",
        iv=b"\x06" * 16,
        encrypted_content=b"\x07" * 32,
    )
    encoded = enveloped.encode_enveloped(message)
    assert ber_issuer in encoded  # written as given
    (recipient,) = enveloped.decode_enveloped(encoded).recipients
    assert isinstance(recipient, enveloped.KeyTransRecipient)
    assert recipient.rid == enveloped.IssuerSerial(issuer=ISSUER, serial=9)


def test_a_handover_is_taken_once() -> None:
    handed = enveloped.Handover(b"large")
    assert handed.take() == b"large"
    with pytest.raises(InputError):
        handed.take()

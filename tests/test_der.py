"""The hand-written DER (engine.asn1.der) is what asn1crypto reads and re-encodes identically."""

from __future__ import annotations

import datetime as dt

import pytest
from asn1crypto import cms, core

from engine.asn1 import der
from engine.asn1 import signed as asn1

ISSUER = bytes.fromhex("300f310d300b06035504030c04526f6f74")  # CN=Root


@pytest.mark.parametrize("value", [0, 1, 127, 128, 255, 256, -1, -128, -129, 2**159 + 5])
def test_integer_matches_asn1crypto(value: int) -> None:
    assert der.integer(value) == core.Integer(value).dump()


@pytest.mark.parametrize(
    "dotted", ["1.2.840.113549.1.7.1", "2.16.840.1.101.3.4.1.46", "1.3.6.1.4.1.311.16.4", "2.999"]
)
def test_oid_matches_asn1crypto(dotted: str) -> None:
    assert der.oid(dotted) == core.ObjectIdentifier(dotted).dump()


@pytest.mark.parametrize("size", [0, 127, 128, 255, 256, 65535, 65536])
def test_long_lengths_match_asn1crypto(size: int) -> None:
    data = bytes(size)
    assert bytes(der.octet_string(data)) == core.OctetString(data).dump()


def test_set_of_sorts_its_members() -> None:
    members = [der.integer(3), der.integer(1), der.integer(2)]
    assert bytes(der.set_of(members)) == b"\x31\x09" + b"".join(sorted(members))


@pytest.mark.parametrize("year", [2026, 2050])
def test_signed_attributes_are_der(year: int) -> None:
    attributes = asn1.signed_attributes_der(
        content_type=asn1.OID_DATA,
        message_digest=bytes(range(32)),
        signing_time=dt.datetime(year, 6, 1, 12, 0, 1, tzinfo=dt.UTC),
        capabilities=[asn1.Capability(oid="2.16.840.1.101.3.4.1.46")],
        encryption_key_preference=asn1.IssuerSerial(issuer=ISSUER, serial=2**70),
        microsoft_encryption_key=asn1.IssuerSerial(issuer=ISSUER, serial=7),
    )
    parsed = cms.CMSAttributes.load(attributes)
    assert parsed.dump(force=True) == attributes
    assert [a["type"].native for a in parsed][:1] == ["content_type"]


@pytest.mark.parametrize("signer", [asn1.IssuerSerial(issuer=ISSUER, serial=300), b"\x01" * 20])
@pytest.mark.parametrize("content", [None, b"hello"])
def test_signed_data_is_der(signer: asn1.IssuerSerial | bytes, content: bytes | None) -> None:
    attributes = asn1.signed_attributes_der(
        content_type=asn1.OID_DATA,
        message_digest=bytes(32),
        signing_time=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
    )
    encoded = asn1.signed_data_der(
        content=content,
        digest_oid="2.16.840.1.101.3.4.2.1",
        signature_algorithm=asn1.AlgorithmIdentifier(
            oid=asn1.OID_RSA_ENCRYPTION, parameters=asn1.null_der()
        ),
        signer=signer,
        signed_attributes=attributes,
        signature=b"\x02" * 256,
        certificates=[],
    )
    info = cms.ContentInfo.load(encoded)
    assert info.dump(force=True) == encoded
    parsed = asn1.parse_signed_data(encoded)
    assert parsed.content == content
    assert parsed.signers[0].signed_der_candidates == (attributes,)


@pytest.mark.parametrize(
    ("algorithm", "icv_length"),
    [("2.16.840.1.101.3.4.1.42", None), ("2.16.840.1.101.3.4.1.46", 12)],
)
def test_enveloped_data_is_der(algorithm: str, icv_length: int | None) -> None:
    from engine.asn1 import enveloped

    authenticated = icv_length is not None
    recipients = (
        enveloped.KeyTransRecipient(
            rid=enveloped.IssuerSerial(issuer=ISSUER, serial=9),
            algorithm_oid=enveloped.RSAES_PKCS1_V1_5,
            encrypted_key=b"\x03" * 256,
        ),
        enveloped.KeyTransRecipient(
            rid=enveloped.KeyIdentifier(key_identifier=b"\x04" * 20),
            algorithm_oid=enveloped.RSAES_OAEP,
            encrypted_key=b"\x05" * 256,
            oaep=enveloped.OaepParameters(),
        ),
    )
    message = enveloped.EnvelopedMessage(
        authenticated=authenticated,
        recipients=recipients,
        content_type=enveloped.DATA,
        algorithm_oid=algorithm,
        iv=b"\x06" * (12 if authenticated else 16),
        icv_length=icv_length,
        encrypted_content=b"\x07" * 300,
        mac=b"\x08" * 12 if authenticated else None,
    )
    encoded = enveloped.encode_enveloped(message)
    assert cms.ContentInfo.load(encoded).dump(force=True) == encoded
    assert enveloped.decode_enveloped(encoded) == message


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("3003020101", True),
        ("3080020101" + "0000", False),  # indefinite length
        ("30810302010" + "1", False),  # long form for a short length
        ("3106020102020101", False),  # SET members out of order
        ("3106020101020102", True),
        ("2403040101", False),  # constructed OCTET STRING
        ("0500", True),
        ("0101" + "01", False),  # BOOLEAN TRUE must be FF
        ("020200" + "7f", False),  # INTEGER with a redundant leading zero
        ("06032a8003", False),  # OID arc with a leading zero septet
        ("300302010100", False),  # trailing bytes
    ],
)
def test_is_der(encoding: str, expected: bool) -> None:
    assert der.is_der(bytes.fromhex(encoding)) is expected


def _members(attributes: bytes) -> list[bytes]:
    return [bytes(m.dump()) for m in cms.CMSAttributes.load(attributes)]


@pytest.mark.parametrize("arrangement", ["sorted", "reversed", "long-length", "repeated"])
def test_signer_candidates_follow_is_der_of_the_whole_set(arrangement: str) -> None:
    # The parser judges the SET member by member (cached); the answer must be der.is_der's.
    sorted_set = asn1.signed_attributes_der(
        content_type=asn1.OID_DATA,
        message_digest=bytes(32),
        signing_time=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
    )
    members = _members(sorted_set)
    if arrangement == "reversed":
        members.reverse()
    elif arrangement == "long-length":  # 0x81 for a length below 128: BER, not DER
        members[0] = members[0][:1] + b"\x81" + members[0][1:]
    elif arrangement == "repeated":
        members.append(members[-1])
    received = der.encode(der.SET, b"".join(members))
    encoded = asn1.signed_data_der(
        content=b"hello",
        digest_oid="2.16.840.1.101.3.4.2.1",
        signature_algorithm=asn1.AlgorithmIdentifier(oid=asn1.OID_RSA_ENCRYPTION),
        signer=asn1.IssuerSerial(issuer=ISSUER, serial=300),
        signed_attributes=received,
        signature=b"\x02" * 256,
        certificates=[],
    )
    candidates = asn1.parse_signed_data(encoded).signers[0].signed_der_candidates
    assert candidates[0] == received
    assert len(candidates) == (1 if der.is_der(received) else 2)
    assert der.is_der(candidates[-1])

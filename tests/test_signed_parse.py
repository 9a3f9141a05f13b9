"""engine.cms.signed parsing: the narrower schemas read what asn1crypto's CMS classes read."""

from __future__ import annotations

import datetime as dt

import pytest
from asn1crypto import cms, core

from engine.cms import attributes
from engine.cms.attributes import (
    Capability,
    parse_attribute,
    signed_attributes,
    signed_attributes_der,
)
from engine.cms.content_types import OID_DATA
from engine.cms.identifiers import IssuerSerial, KeyReference
from engine.cms.signed import parse_signed_data
from engine.errors import DecodeError, InputError

_ISSUER = IssuerSerial(issuer=bytes.fromhex("3000"), serial=7)


def _attribute(oid: str, *values: core.Asn1Value) -> bytes:
    return bytes(cms.CMSAttribute({"type": oid, "values": list(values)}).dump())


class _AnyValues(core.SetOf):  # type: ignore[misc]
    _child_spec = core.Any


class _Untyped(core.Sequence):  # type: ignore[misc]
    # An Attribute with an empty SET OF values, whatever its type.
    _fields = [("type", core.ObjectIdentifier), ("values", _AnyValues)]  # noqa: RUF012


@pytest.mark.parametrize(("oid", "name"), sorted(cms.CMSAttributeType._map.items()))
def test_every_attribute_type_asn1crypto_knows_gets_its_value_type(oid: str, name: str) -> None:
    # RFC 5652 §5.3: the values' type follows the attribute type, as in cms.CMSAttribute.
    expected = cms.CMSAttribute._oid_specs.get(name, cms.SetOfAny)
    encoding = bytes(_Untyped({"type": oid, "values": []}).dump())
    assert type(attributes._Attribute.load(encoding)["values"]) is expected


def test_an_unknown_attribute_type_is_counted_and_its_values_not_interpreted() -> None:
    encoding = _attribute("1.2.3.4.5", core.Integer(1), core.Integer(2))
    parsed = parse_attribute(encoding)
    assert (parsed.oid, parsed.field, parsed.count, parsed.der) == ("1.2.3.4.5", None, 2, encoding)


def test_the_attributes_the_engine_reads_come_back() -> None:
    der = signed_attributes_der(
        content_type=OID_DATA,
        message_digest=b"\x01" * 32,
        signing_time=dt.datetime(2026, 6, 1, 12, 0, 1, tzinfo=dt.UTC),
        capabilities=(Capability(oid="2.16.840.1.101.3.4.1.42"),),
        encryption_key_preference=_ISSUER,
        microsoft_encryption_key=_ISSUER,
    )
    members = [bytes(m.dump()) for m in cms.CMSAttributes.load(der)]
    parsed = signed_attributes([parse_attribute(member) for member in members])
    assert parsed.content_type == OID_DATA
    assert parsed.message_digest == b"\x01" * 32
    assert parsed.signing_time == dt.datetime(2026, 6, 1, 12, 0, 1, tzinfo=dt.UTC)
    assert parsed.capabilities == (Capability(oid="2.16.840.1.101.3.4.1.42"),)
    assert parsed.encryption_key_preference == KeyReference(issuer_serial=_ISSUER)
    assert parsed.microsoft_encryption_key == _ISSUER


def test_a_content_info_of_another_type_names_it() -> None:
    enveloped = bytes(cms.ContentInfo({"content_type": "enveloped_data"}).dump())
    with pytest.raises(InputError, match=r"signed-data .* found content type enveloped_data"):
        parse_signed_data(enveloped)


def test_signed_data_with_no_content_is_a_decode_error() -> None:
    bare = bytes(cms.ContentInfo({"content_type": "signed_data"}).dump())
    with pytest.raises(DecodeError, match="expected a CMS SignedData ContentInfo"):
        parse_signed_data(bare)

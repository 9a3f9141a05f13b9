"""The signed attributes of a SignerInfo (RFC 5652 §5.3, §5.4, §11; RFC 8551 §2.5).

Parsing reads each Attribute whole (a malformed value fails the parse, not a later
signature check) and keeps the encodings the signature may cover; building writes the
DER ``SET OF Attribute`` a signature is computed over, the attributes that stay the
same from one message of a signer to the next built once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any, overload

from asn1crypto import cms, core

from engine._internal.memo import bounded, memoize
from engine.cms.codec import ASN1_ERRORS, constant, dotted, frozen, short_reason
from engine.cms.identifiers import (
    IssuerSerial,
    KeyReference,
    issuer_and_serial_number,
    issuer_serial,
)
from engine.errors import DecodeError

# RFC 5652 §11 and RFC 8551 §2.5 attribute types.
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_SIGNING_TIME = "1.2.840.113549.1.9.5"
OID_SMIME_CAPABILITIES = "1.2.840.113549.1.9.15"
OID_ENCRYPTION_KEY_PREFERENCE = "1.2.840.113549.1.9.16.2.11"
OID_MS_ENCRYPTION_KEY = "1.3.6.1.4.1.311.16.4"  # Microsoft: an IssuerAndSerialNumber


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Capability:
    """One SMIMECapability (RFC 8551 §2.5.2); ``parameters`` is DER when present."""

    oid: str
    parameters: bytes | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SignedAttributes:
    """The signed attributes the engine understands (RFC 5652 §11, RFC 8551 §2.5)."""

    types: tuple[str, ...]  # every attribute type present, in order received
    # RFC 5652 §11.1-11.3: contentType, messageDigest and signingTime appear at most once,
    # each with exactly one value; the types received otherwise, in order.
    not_single: tuple[str, ...] = ()
    content_type: str | None = None
    message_digest: bytes | None = None
    signing_time: dt.datetime | None = None
    capabilities: tuple[Capability, ...] = ()
    encryption_key_preference: KeyReference | None = None
    microsoft_encryption_key: IssuerSerial | None = None


# --- parsing ------------------------------------------------------------------------------


class SignedEncodings(Sequence[bytes]):
    """The encodings a signature over signed attributes may cover (RFC 5652 §5.4): as
    received under a SET OF header, then the DER re-encoding when that differs (BER, an
    unsorted SET). ``members`` are the attributes' own DER re-encodings, made (and so
    checked) when the SignerInfo was parsed; the SET of them is put together only when
    asked for, so a signature that verifies over the received bytes never pays for it."""

    __slots__ = ("_all", "_members", "_received")

    def __init__(self, received: bytes, members: Sequence[bytes]) -> None:
        self._received = received
        self._members = tuple(members)
        self._all: tuple[bytes, ...] | None = None

    def _encodings(self) -> tuple[bytes, ...]:
        if self._all is None:
            # X.690 §11.6: a DER SET OF holds its members' encodings in ascending order
            # (asn1crypto's SetOf sorts them the same way when it re-encodes).
            contents = b"".join(sorted(self._members))
            reencoded = bytes(cms.CMSAttributes(contents=contents).dump())
            same = reencoded == self._received
            self._all = (self._received,) if same else (self._received, reencoded)
        return self._all

    def __iter__(self) -> Iterator[bytes]:
        yield self._received
        yield from self._encodings()[1:]

    def __len__(self) -> int:
        return len(self._encodings())

    @overload
    def __getitem__(self, index: int) -> bytes: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[bytes, ...]: ...

    def __getitem__(self, index: int | slice) -> bytes | tuple[bytes, ...]:
        if index == 0:
            return self._received
        return self._encodings()[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SignedEncodings | tuple):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._encodings())

    def __repr__(self) -> str:
        return f"SignedEncodings({len(self._received)} bytes received)"


def signed_attributes(members: Sequence[ParsedAttribute]) -> SignedAttributes:
    """The SignedAttributes of a SignerInfo's parsed attributes, in order received."""
    types: list[str] = []
    fields: dict[str, Any] = {}
    not_single: list[str] = []
    for member in members:
        oid = member.oid
        if oid in _SINGLE_VALUED and (member.count != 1 or oid in types) and oid not in not_single:
            not_single.append(oid)
        types.append(oid)
        if member.field is not None:
            fields[member.field[0]] = member.field[1]  # repeated: the last one (see not_single)
    return SignedAttributes(types=tuple(types), not_single=tuple(not_single), **fields)


# asn1crypto's SET OF value type for each attribute type it knows, by dotted OID.
_VALUE_SPECS: dict[str, type[core.SetOf]] = {
    oid: cms.CMSAttribute._oid_specs[name]
    for oid, name in cms.CMSAttributeType._map.items()
    if name in cms.CMSAttribute._oid_specs
}

_SET_OF_ANY: type[core.SetOf] = cms.SetOfAny


class _Attribute(core.Sequence):  # type: ignore[misc]
    # RFC 5652 §5.3 Attribute, as cms.CMSAttribute, with the values' type found from the
    # memoized dotted OID rather than the OID's name (.native), computed per instance.
    _fields = [  # noqa: RUF012 - asn1crypto's class-level schema
        ("type", core.ObjectIdentifier),
        ("values", None),
    ]

    def _values_spec(self) -> type[core.SetOf]:
        return _VALUE_SPECS.get(dotted(self["type"]), _SET_OF_ANY)

    _spec_callbacks = {"values": _values_spec}  # noqa: RUF012


_SINGLE_VALUED = frozenset({OID_CONTENT_TYPE, OID_MESSAGE_DIGEST, OID_SIGNING_TIME})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ParsedAttribute:
    """One signed Attribute (RFC 5652 §5.3), parsed to the last field."""

    oid: str
    count: int  # how many values it has
    field: tuple[str, Any] | None  # the SignedAttributes field its first value sets, if any
    der: bytes  # its DER re-encoding, for the SET OF the signature may cover (RFC 5652 §5.4)


@memoize(maxsize=512, max_bytes=4096)
def parse_attribute(encoding: bytes) -> ParsedAttribute:
    """One Attribute (RFC 5652 §5.3), parsed eagerly and whole: its type, the field its first
    value sets when the engine understands it (RFC 5652 §11, RFC 8551 §2.5), and its DER.

    asn1crypto parses lazily: a value is decoded only when read. Re-encoding the attribute
    as DER reads every value to its last string and time, an unknown attribute's too (as
    the untagged universal types it holds), so a malformed one fails here, in the parse
    (a DecodeError from :func:`engine.cms.signed.parse_signed_data`), not later in a
    signature check."""
    attribute = _Attribute.load(encoding)
    oid = dotted(attribute["type"])
    try:
        values = attribute["values"]
        count = len(values)
        field = _first_value_field(oid, values) if count else None
        der = bytes(attribute.dump(force=True))
    except ASN1_ERRORS as exc:
        name = cms.CMSAttributeType._map.get(oid)
        what = f"{name} ({oid})" if name else oid
        raise DecodeError(
            f"signed attribute {what} with values of its type (RFC 5652 §5.3)", short_reason(exc)
        ) from None
    return ParsedAttribute(oid=oid, count=count, field=field, der=der)


def _first_value_field(oid: str, values: Any) -> tuple[str, Any] | None:
    first = values[0]
    if oid == OID_CONTENT_TYPE:
        return ("content_type", dotted(first))
    if oid == OID_MESSAGE_DIGEST:
        return ("message_digest", bytes(first.native))
    if oid == OID_SIGNING_TIME:
        return ("signing_time", _signing_time(first))
    if oid == OID_SMIME_CAPABILITIES:
        capabilities = tuple(
            Capability(
                oid=dotted(cap["capability_id"]),
                parameters=None
                if isinstance(cap["parameters"], core.Void)
                else bytes(cap["parameters"].dump()),
            )
            for cap in first
        )
        return ("capabilities", capabilities)
    if oid == OID_ENCRYPTION_KEY_PREFERENCE:
        return ("encryption_key_preference", _key_preference(first))
    if oid == OID_MS_ENCRYPTION_KEY:
        value = cms.IssuerAndSerialNumber.load(bytes(first.dump()))
        return ("microsoft_encryption_key", issuer_serial(value))
    return None


def _signing_time(value: Any) -> dt.datetime:
    # RFC 5652 §11.3: UTCTime or GeneralizedTime. asn1crypto reads year 0 as its own
    # extended_datetime and keeps a GeneralizedTime's offset: neither is a UTC instant
    # the engine can compare (0001-01-01T00:00:00+01:00 is before year 1 in UTC).
    moment = value.native
    if isinstance(moment, dt.datetime) and moment.tzinfo is not None:
        with contextlib.suppress(OverflowError):
            return moment.astimezone(dt.UTC)
    written = bytes(value.chosen.contents).decode("latin-1")
    raise DecodeError("a signingTime from 0001 to 9999 in UTC (RFC 5652 §11.3)", repr(written))


def _key_preference(choice: Any) -> KeyReference | None:
    # RFC 8551 §2.5.3: [0] IMPLICIT IssuerAndSerialNumber, [1] IMPLICIT
    # RecipientKeyIdentifier, [2] IMPLICIT SubjectKeyIdentifier.
    if choice.name == "issuer_and_serial_number":
        return KeyReference(issuer_serial=issuer_serial(choice.chosen))
    if choice.name == "recipientKeyId":
        return KeyReference(
            subject_key_identifier=bytes(choice.chosen["subjectKeyIdentifier"].native)
        )
    return None  # subjectAltKeyIdentifier names a key, not a certificate


# --- building -----------------------------------------------------------------------------


def _time(moment: dt.datetime) -> cms.Time:
    # RFC 5652 §11.3: UTCTime for 1950-2049, GeneralizedTime otherwise.
    moment = moment.astimezone(dt.UTC)
    if 1950 <= moment.year <= 2049:
        return cms.Time(name="utc_time", value=core.UTCTime(moment))
    return cms.Time(name="generalized_time", value=core.GeneralizedTime(moment))


def signed_attributes_der(
    *,
    content_type: str,
    message_digest: bytes,
    signing_time: dt.datetime,
    capabilities: Sequence[Capability] = (),
    encryption_key_preference: IssuerSerial | None = None,
    microsoft_encryption_key: IssuerSerial | None = None,
) -> bytes:
    """The DER ``SET OF Attribute`` the signature is computed over (RFC 5652 §5.4)."""
    digest = cms.SetOfOctetString([core.OctetString(message_digest)])
    time = cms.SetOfTime([_time(signing_time)])
    attributes = cms.CMSAttributes(
        [
            frozen(cms.CMSAttribute({"type": _MESSAGE_DIGEST, "values": frozen(digest)})),
            frozen(cms.CMSAttribute({"type": _SIGNING_TIME, "values": frozen(time)})),
            *_lasting_attributes(
                content_type,
                tuple(capabilities),
                encryption_key_preference,
                microsoft_encryption_key,
            ),
        ]
    )
    # asn1crypto sorts SET OF members into DER order when it encodes (X.690 §11.6).
    return bytes(frozen(attributes).dump())


_MESSAGE_DIGEST = constant(cms.CMSAttributeType, OID_MESSAGE_DIGEST)
_SIGNING_TIME = constant(cms.CMSAttributeType, OID_SIGNING_TIME)


@bounded(maxsize=64)
def _lasting_attributes(
    content_type: str,
    capabilities: tuple[Capability, ...],
    encryption_key_preference: IssuerSerial | None,
    microsoft_encryption_key: IssuerSerial | None,
) -> tuple[cms.CMSAttribute, ...]:
    """The attributes that stay the same from one message of a signer to the next."""
    attributes = [cms.CMSAttribute({"type": "content_type", "values": [content_type]})]
    if capabilities:
        # RFC 8551 §2.5.2: a SEQUENCE in order of preference.
        sequence = cms.SMIMECapabilites(
            [
                {"capability_id": cap.oid}
                if cap.parameters is None
                else {"capability_id": cap.oid, "parameters": core.Any.load(cap.parameters)}
                for cap in capabilities
            ]
        )
        attributes.append(cms.CMSAttribute({"type": "smime_capabilities", "values": [sequence]}))
    if encryption_key_preference is not None:
        # RFC 8551 §2.5.3: issuerAndSerialNumber [0] IMPLICIT
        named = issuer_and_serial_number(encryption_key_preference)
        preference = cms.SMIMEEncryptionKeyPreference(name="issuer_and_serial_number", value=named)
        attributes.append(cms.CMSAttribute({"type": "encrypt_key_pref", "values": [preference]}))
    if microsoft_encryption_key is not None:
        value = core.Any.load(issuer_and_serial_number(microsoft_encryption_key).dump())
        attributes.append(cms.CMSAttribute({"type": OID_MS_ENCRYPTION_KEY, "values": [value]}))
    return tuple(frozen(attribute) for attribute in attributes)

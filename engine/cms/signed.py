"""CMS SignedData (RFC 5652 §5) and the S/MIME signed attributes (RFC 8551 §2.5).

Typed build and parse over asn1crypto: the rest of the engine gets plain
dataclasses, bytes, ints and dotted OIDs, never an asn1crypto object.
Parsing accepts BER (indefinite lengths, constructed strings); building
writes DER.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar, overload

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509

from engine._internal.memo import memoize
from engine.cms.algorithms import MGF1, RSA_ENCRYPTION, RSASSA_PSS
from engine.errors import DecodeError, InputError, SmimeError, describe_bytes

_T = TypeVar("_T")

# RFC 5652 §3, §11 and RFC 8551 §2.5 object identifiers.
# Content types (RFC 5652 §4-§9, RFC 5083 §1, RFC 3274 §1.1): owned here, since every
# CMS module imports this one.
OID_DATA = "1.2.840.113549.1.7.1"
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_ENVELOPED_DATA = "1.2.840.113549.1.7.3"
OID_SIGNED_AND_ENVELOPED_DATA = "1.2.840.113549.1.7.4"
OID_DIGESTED_DATA = "1.2.840.113549.1.7.5"
OID_ENCRYPTED_DATA = "1.2.840.113549.1.7.6"
OID_AUTHENTICATED_DATA = "1.2.840.113549.1.9.16.1.2"
OID_COMPRESSED_DATA = "1.2.840.113549.1.9.16.1.9"
OID_AUTH_ENVELOPED_DATA = "1.2.840.113549.1.9.16.1.23"
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_SIGNING_TIME = "1.2.840.113549.1.9.5"
OID_SMIME_CAPABILITIES = "1.2.840.113549.1.9.15"
OID_ENCRYPTION_KEY_PREFERENCE = "1.2.840.113549.1.9.16.2.11"
OID_MS_ENCRYPTION_KEY = "1.3.6.1.4.1.311.16.4"  # Microsoft: an IssuerAndSerialNumber
OID_RSA_ENCRYPTION = RSA_ENCRYPTION
OID_RSASSA_PSS = RSASSA_PSS
OID_MGF1 = MGF1

# Errors asn1crypto raises on malformed input (it parses lazily, on access; a string that
# does not decode is a UnicodeDecodeError, a ValueError). RecursionError: values nested
# thousands deep, which asn1crypto parses and re-encodes recursively.
_ASN1_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    AttributeError,
    RecursionError,
)


class _AlgorithmIdentifier(core.Sequence):  # type: ignore[misc]
    # RFC 5280 §4.1.1.2. asn1crypto's own classes force NULL parameters on SHA-2;
    # RFC 5754 §2 says generate them absent.
    _fields = [  # noqa: RUF012 - asn1crypto's class-level schema
        ("algorithm", core.ObjectIdentifier),
        ("parameters", core.Any, {"optional": True}),
    ]


class _OaepParameters(core.Sequence):  # type: ignore[misc]
    # RFC 4055 §4.1 RSAES-OAEP-params; pSourceFunc keeps its default (empty label).
    _fields = [  # noqa: RUF012 - asn1crypto's class-level schema
        ("hash_algorithm", _AlgorithmIdentifier, {"explicit": 0}),
        ("mask_gen_algorithm", _AlgorithmIdentifier, {"explicit": 1}),
    ]


class _PssParameters(core.Sequence):  # type: ignore[misc]
    # RFC 4055 §3.1 RSASSA-PSS-params; the trailer field keeps its default.
    _fields = [  # noqa: RUF012 - asn1crypto's class-level schema
        ("hash_algorithm", _AlgorithmIdentifier, {"explicit": 0}),
        ("mask_gen_algorithm", _AlgorithmIdentifier, {"explicit": 1}),
        ("salt_length", core.Integer, {"explicit": 2}),
    ]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class IssuerSerial:
    """IssuerAndSerialNumber (RFC 5652 §10.2.4): the issuer Name as DER, the serial."""

    issuer: bytes
    serial: int

    @classmethod
    def of(cls, certificate: x509.Certificate) -> IssuerSerial:
        """The IssuerAndSerialNumber naming ``certificate``."""
        return _issuer_serial_of(certificate)


@functools.lru_cache(maxsize=256)
def _issuer_serial_of(certificate: x509.Certificate) -> IssuerSerial:
    # Keyed on the (immutable) certificate: a signer or recipient is named again and again.
    return IssuerSerial(issuer=certificate.issuer.public_bytes(), serial=certificate.serial_number)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class KeyReference:
    """Names a certificate by issuer and serial or by subject key identifier
    (SignerIdentifier, RFC 5652 §5.3; SMIMEEncryptionKeyPreference, RFC 8551 §2.5.3)."""

    issuer_serial: IssuerSerial | None = None
    subject_key_identifier: bytes | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Capability:
    """One SMIMECapability (RFC 8551 §2.5.2); ``parameters`` is DER when present."""

    oid: str
    parameters: bytes | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AlgorithmIdentifier:
    oid: str
    parameters: bytes | None = None  # DER, None when absent


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PssParameters:
    """RSASSA-PSS-params (RFC 4055 §3.1), with the RFC defaults filled in."""

    hash_oid: str
    mgf_oid: str
    mgf_hash_oid: str | None
    salt_length: int
    trailer_field: int


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


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SignerInfoData:
    """One SignerInfo (RFC 5652 §5.3).

    ``signed_der_candidates`` are the encodings the signature may cover: the
    signed attributes as received with the SET OF tag (RFC 5652 §5.4), then
    their DER re-encoding when that differs (BER input, unsorted SET), made
    only when the first does not verify (:class:`SignedEncodings`).
    """

    signer: KeyReference
    digest_oid: str
    signature_algorithm: AlgorithmIdentifier
    pss: PssParameters | None
    attributes: SignedAttributes | None
    signed_der_candidates: Sequence[bytes]
    signature: bytes


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SignedDataContent:
    """A parsed SignedData. ``content`` is None when detached."""

    content_type: str
    content: bytes | None
    digest_oids: tuple[str, ...]
    certificates: tuple[bytes, ...]  # DER of each X.509 certificate carried
    signers: tuple[SignerInfoData, ...]


# --- parsing ------------------------------------------------------------------


class _Attributes(core.SetOf):  # type: ignore[misc]
    # SET OF Attribute, split into the members' encodings, each parsed on its own
    # (RFC 5652 §5.3). A bare Sequence dumps its bytes without parsing them.
    _child_spec = core.Sequence


class _SignerInfo(cms.SignerInfo):  # type: ignore[misc]
    # RFC 5652 §5.3, as asn1crypto's, with the signed attributes left as encodings.
    _fields = [  # noqa: RUF012 - asn1crypto's class-level schema
        ("version", cms.CMSVersion),
        ("sid", cms.SignerIdentifier),
        ("digest_algorithm", algos.DigestAlgorithm),
        ("signed_attrs", _Attributes, {"implicit": 0, "optional": True}),
        ("signature_algorithm", algos.SignedDigestAlgorithm),
        ("signature", core.OctetString),
        ("unsigned_attrs", cms.CMSAttributes, {"implicit": 1, "optional": True}),
    ]


class _SignerInfos(core.SetOf):  # type: ignore[misc]
    _child_spec = _SignerInfo


class _SignedData(cms.SignedData):  # type: ignore[misc]
    _fields = [  # noqa: RUF012 - asn1crypto's class-level schema
        ("signer_infos", _SignerInfos) if field[0] == "signer_infos" else field
        for field in cms.SignedData._fields
    ]


class _ContentInfo(core.Sequence):  # type: ignore[misc]
    # RFC 5652 §3 with the content read as SignedData: the contentType is checked first
    # (by its memoized dotted form), not looked up by name as ContentInfo's _oid_pair does.
    _fields = [  # noqa: RUF012 - asn1crypto's class-level schema
        ("content_type", core.ObjectIdentifier),
        ("content", _SignedData, {"explicit": 0, "optional": True}),
    ]


def _decode(what: str, data: bytes, parse: Callable[[], _T]) -> _T:
    """Run ``parse`` and turn any asn1crypto failure into a DecodeError."""
    try:
        return parse()
    except SmimeError:
        raise
    except _ASN1_ERRORS as exc:
        raise DecodeError(what, f"{describe_bytes(data)} ({_short(exc)})") from exc


# asn1crypto quotes a time it could not parse ("Error parsing <text> to a UTCTime"): the
# input's own bytes, which an error message never repeats.
_QUOTED_INPUT = re.compile(r"Error parsing .*? to an? ", re.DOTALL)


def _short(exc: BaseException) -> str:
    """asn1crypto's reason as one printable line, without quoting the input."""
    text = _QUOTED_INPUT.sub("Error parsing the value as ", str(exc))
    text = " ".join(text.split()) or type(exc).__name__
    text = "".join(c if c.isprintable() and c.isascii() else "?" for c in text)
    return text if len(text) <= 120 else text[:117] + "..."


def content_info_type(der: bytes) -> str:
    """The dotted contentType OID of a CMS ContentInfo (RFC 5652 §3)."""

    def parse() -> str:
        info = cms.ContentInfo.load(der)
        return str(info["content_type"].dotted)

    return _decode("a DER CMS ContentInfo", der, parse)


def parse_signed_data(der: bytes) -> SignedDataContent:
    """Parse a ContentInfo holding SignedData (DER or BER)."""
    if not der:
        raise DecodeError("a CMS ContentInfo", "empty input")
    return _decode("a CMS SignedData ContentInfo", der, lambda: _parse_signed_data(der))


def _parse_signed_data(der: bytes) -> SignedDataContent:
    info = _ContentInfo.load(der)
    content_type = _dotted(info["content_type"])
    if content_type != OID_SIGNED_DATA:
        raise InputError(
            f"CMS signed-data ({OID_SIGNED_DATA})", f"content type {_oid_name(content_type)}"
        )
    signed = info["content"]
    encap = signed["encap_content_info"]
    inner_type = _dotted(encap["content_type"])
    content = _encapsulated_bytes(encap["content"])
    digests = _digest_oids(bytes(signed["digest_algorithms"].contents))
    carried = signed["certificates"]
    certificates = () if isinstance(carried, core.Void) else _certificates(bytes(carried.contents))
    signers = tuple(_parse_signer(info) for info in signed["signer_infos"])
    if not signers:
        raise InputError("at least one SignerInfo", "none")
    return SignedDataContent(
        content_type=inner_type,
        content=content,
        digest_oids=digests,
        certificates=certificates,
        signers=signers,
    )


@memoize(maxsize=64, max_bytes=4096)
def _digest_oids(contents: bytes) -> tuple[str, ...]:
    algorithms = cms.DigestAlgorithms(contents=contents)
    return tuple(_dotted(algorithm["algorithm"]) for algorithm in algorithms)


@memoize(maxsize=64, max_bytes=1024)
def _digest_oid(encoding: bytes) -> str:
    return _dotted(algos.DigestAlgorithm.load(encoding)["algorithm"])


@memoize(maxsize=64, max_bytes=64 * 1024)
def _certificates(contents: bytes) -> tuple[bytes, ...]:
    """The DER of each X.509 certificate in a CertificateSet's contents (RFC 5652 §10.2.1);
    other certificate formats are skipped. Not .native: it decodes every field."""
    choices = cms.CertificateSet(contents=contents)
    return tuple(bytes(c.chosen.dump()) for c in choices if c.name == "certificate")


def _dotted(oid: Any) -> str:
    """The dotted form of a parsed OBJECT IDENTIFIER, from its contents octets."""
    return _dotted_contents(bytes(oid.contents))


@memoize(maxsize=1024, max_bytes=64)
def _dotted_contents(contents: bytes) -> str:
    return str(core.ObjectIdentifier(contents=contents).dotted)


def _oid_name(oid: str) -> str:
    name = cms.ContentType._map.get(oid)
    return f"{name} ({oid})" if name else oid


def _encapsulated_bytes(value: Any) -> bytes | None:
    if isinstance(value, core.Void):
        return None  # detached (RFC 5652 §5.2)
    if isinstance(value, core.OctetString | core.ParsableOctetString):
        native = value.native
        if isinstance(native, bytes):
            return native
        return bytes(value.__bytes__())
    # PKCS #7 v1.5 allowed any type here: the signed bytes are its contents octets.
    return bytes(value.contents)


def _parse_signer(info: Any) -> SignerInfoData:
    signer = _signer_identifier_of(bytes(info["sid"].dump()))
    signature_algorithm, pss = _signature_algorithm(bytes(info["signature_algorithm"].dump()))
    raw_attributes = info["signed_attrs"]
    attributes: SignedAttributes | None = None
    candidates: Sequence[bytes] = ()
    if not isinstance(raw_attributes, core.Void):
        members = [_attribute(bytes(member.dump())) for member in raw_attributes]
        attributes = _signed_attributes(members)
        # RFC 5652 §5.4: the signature covers the attributes with the SET OF tag.
        candidates = SignedEncodings(
            bytes(cms.CMSAttributes(contents=raw_attributes.contents).dump()),
            tuple(member.der for member in members),
        )
    return SignerInfoData(
        signer=signer,
        digest_oid=_digest_oid(bytes(info["digest_algorithm"].dump())),
        signature_algorithm=signature_algorithm,
        pss=pss,
        attributes=attributes,
        signed_der_candidates=candidates,
        signature=bytes(info["signature"].native),
    )


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


@memoize(maxsize=256, max_bytes=4096)
def _signer_identifier_of(encoding: bytes) -> KeyReference:
    sid = cms.SignerIdentifier.load(encoding)
    if sid.name == "issuer_and_serial_number":
        return KeyReference(issuer_serial=_issuer_serial(sid.chosen))
    return KeyReference(subject_key_identifier=bytes(sid.chosen.native))


@memoize(maxsize=256, max_bytes=4096)
def _signature_algorithm(encoding: bytes) -> tuple[AlgorithmIdentifier, PssParameters | None]:
    algorithm = cms.SignedDigestAlgorithm.load(encoding)
    signature_oid = _dotted(algorithm["algorithm"])
    parameters = algorithm["parameters"]
    params_der = None if isinstance(parameters, core.Void) else bytes(parameters.dump())
    pss = _pss_parameters(params_der) if signature_oid == OID_RSASSA_PSS else None
    return AlgorithmIdentifier(oid=signature_oid, parameters=params_der), pss


def _issuer_serial(value: Any) -> IssuerSerial:
    return IssuerSerial(
        issuer=bytes(value["issuer"].dump()), serial=int(value["serial_number"].native)
    )


def _pss_parameters(der: bytes | None) -> PssParameters:
    if der is None:
        raise DecodeError("RSASSA-PSS parameters (RFC 4055 §3.1)", "none")
    params = algos.RSASSAPSSParams.load(der)
    mgf = params["mask_gen_algorithm"]
    mgf_params = mgf["parameters"]
    mgf_hash = None if isinstance(mgf_params, core.Void) else _dotted(mgf_params["algorithm"])
    trailer = params["trailer_field"].native
    return PssParameters(
        hash_oid=_dotted(params["hash_algorithm"]["algorithm"]),
        mgf_oid=_dotted(mgf["algorithm"]),
        mgf_hash_oid=mgf_hash,
        salt_length=int(params["salt_length"].native),
        trailer_field=1 if trailer == "trailer_field_bc" else int(trailer),
    )


def _signed_attributes(members: Sequence[_ParsedAttribute]) -> SignedAttributes:
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
        return _VALUE_SPECS.get(_dotted(self["type"]), _SET_OF_ANY)

    _spec_callbacks = {"values": _values_spec}  # noqa: RUF012


_SINGLE_VALUED = frozenset({OID_CONTENT_TYPE, OID_MESSAGE_DIGEST, OID_SIGNING_TIME})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _ParsedAttribute:
    """One signed Attribute (RFC 5652 §5.3), parsed to the last field."""

    oid: str
    count: int  # how many values it has
    field: tuple[str, Any] | None  # the SignedAttributes field its first value sets, if any
    der: bytes  # its DER re-encoding, for the SET OF the signature may cover (RFC 5652 §5.4)


@memoize(maxsize=512, max_bytes=4096)
def _attribute(encoding: bytes) -> _ParsedAttribute:
    """One Attribute (RFC 5652 §5.3), parsed eagerly and whole: its type, the field its first
    value sets when the engine understands it (RFC 5652 §11, RFC 8551 §2.5), and its DER.

    asn1crypto parses lazily: a value is decoded only when read. Re-encoding the attribute
    as DER reads every value to its last string and time, an unknown attribute's too (as
    the untagged universal types it holds), so a malformed one fails here, in the parse
    (a DecodeError from :func:`parse_signed_data`), not later in a signature check."""
    attribute = _Attribute.load(encoding)
    oid = _dotted(attribute["type"])
    try:
        values = attribute["values"]
        count = len(values)
        field = _first_value_field(oid, values) if count else None
        der = bytes(attribute.dump(force=True))
    except _ASN1_ERRORS as exc:
        name = cms.CMSAttributeType._map.get(oid)
        what = f"{name} ({oid})" if name else oid
        raise DecodeError(
            f"signed attribute {what} with values of its type (RFC 5652 §5.3)", _short(exc)
        ) from None
    return _ParsedAttribute(oid=oid, count=count, field=field, der=der)


def _first_value_field(oid: str, values: Any) -> tuple[str, Any] | None:
    first = values[0]
    if oid == OID_CONTENT_TYPE:
        return ("content_type", _dotted(first))
    if oid == OID_MESSAGE_DIGEST:
        return ("message_digest", bytes(first.native))
    if oid == OID_SIGNING_TIME:
        return ("signing_time", _signing_time(first))
    if oid == OID_SMIME_CAPABILITIES:
        capabilities = tuple(
            Capability(
                oid=_dotted(cap["capability_id"]),
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
        return ("microsoft_encryption_key", _issuer_serial(value))
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
        return KeyReference(issuer_serial=_issuer_serial(choice.chosen))
    if choice.name == "recipientKeyId":
        return KeyReference(
            subject_key_identifier=bytes(choice.chosen["subjectKeyIdentifier"].native)
        )
    return None  # subjectAltKeyIdentifier names a key, not a certificate


def same_name(left: bytes, right: bytes) -> bool:
    """Compare two DER Names after RFC 5280 §7.1 normalization."""

    def parse() -> bool:
        return bool(asn1_x509.Name.load(left) == asn1_x509.Name.load(right))

    return _decode("a DER Name", left + right, parse)


# --- building -----------------------------------------------------------------


def _algorithm(oid: str, parameters: bytes | None = None) -> _AlgorithmIdentifier:
    value: dict[str, Any] = {"algorithm": oid}
    if parameters is not None:
        value["parameters"] = core.Any.load(parameters)
    return _AlgorithmIdentifier(value)


@functools.lru_cache(maxsize=64)
def algorithm_der(oid: str, parameters: bytes | None = None) -> bytes:
    """DER of an AlgorithmIdentifier; parameters absent unless given."""
    return bytes(_algorithm(oid, parameters).dump())


@functools.lru_cache(maxsize=64)
def null_der() -> bytes:
    """DER NULL, the parameters of rsaEncryption (RFC 3370 §3.2)."""
    return bytes(core.Null().dump())


@functools.lru_cache(maxsize=64)
def pss_parameters_der(hash_oid: str, salt_length: int) -> bytes:
    """RSASSA-PSS-params with MGF1 over the same hash (RFC 4056 §2.2)."""
    params = _PssParameters(
        {
            "hash_algorithm": _algorithm(hash_oid),
            "mask_gen_algorithm": _algorithm(OID_MGF1, algorithm_der(hash_oid)),
            "salt_length": salt_length,
        }
    )
    return bytes(params.dump())


@functools.lru_cache(maxsize=64)
def oaep_parameters_der(hash_oid: str) -> bytes:
    """RSAES-OAEP-params with MGF1 over the same hash and an empty label (RFC 4055 §4.1)."""
    params = _OaepParameters(
        {
            "hash_algorithm": _algorithm(hash_oid),
            "mask_gen_algorithm": _algorithm(OID_MGF1, algorithm_der(hash_oid)),
        }
    )
    return bytes(params.dump())


def _time(moment: dt.datetime) -> cms.Time:
    # RFC 5652 §11.3: UTCTime for 1950-2049, GeneralizedTime otherwise.
    moment = moment.astimezone(dt.UTC)
    if 1950 <= moment.year <= 2049:
        return cms.Time(name="utc_time", value=core.UTCTime(moment))
    return cms.Time(name="generalized_time", value=core.GeneralizedTime(moment))


def _unique(items: Sequence[bytes]) -> tuple[bytes, ...]:
    return tuple(dict.fromkeys(items))


# What a signer's messages repeat -- algorithm identifiers, the signer identifier, the
# certificates, the lasting attributes -- is built once and kept parsed from its own DER,
# so asn1crypto dumps it from the cached bytes instead of encoding it again. A value
# built from fields re-encodes its children at every read of its contents (asn1crypto
# keeps it "mutated"); ``frozen`` takes the encoding once and keeps only that.

_V = TypeVar("_V", bound=core.Asn1Value)


def frozen(value: _V, **tagging: int) -> _V:
    """``value`` as asn1crypto would load it from its DER (``tagging``: ``implicit`` or
    ``explicit``, a context tag number): it holds the encoding, not the built children."""
    encoded: _V = type(value)(contents=value.contents, **tagging)
    return encoded


@functools.lru_cache(maxsize=256)
def constant(kind: type[_V], value: str) -> _V:
    """A small value of type ``kind`` that every message repeats (a version, an OID), built
    once: asn1crypto's lookups from a name or dotted string cost more than the encoding."""
    built: _V = kind(value)
    return frozen(built)


@functools.lru_cache(maxsize=64)
def _digest_algorithm(oid: str) -> algos.DigestAlgorithm:
    return algos.DigestAlgorithm.load(algorithm_der(oid))


@functools.lru_cache(maxsize=64)
def _digest_algorithms(oid: str) -> cms.DigestAlgorithms:
    return frozen(cms.DigestAlgorithms([_digest_algorithm(oid)]))


@functools.lru_cache(maxsize=64)
def _signature_algorithm_value(oid: str, parameters: bytes | None) -> algos.SignedDigestAlgorithm:
    return algos.SignedDigestAlgorithm.load(algorithm_der(oid, parameters))


def issuer_and_serial_number(reference: IssuerSerial) -> cms.IssuerAndSerialNumber:
    """The asn1crypto IssuerAndSerialNumber of ``reference`` (RFC 5652 §10.2.4)."""
    return cms.IssuerAndSerialNumber(
        {"issuer": asn1_x509.Name.load(reference.issuer), "serial_number": reference.serial}
    )


@functools.lru_cache(maxsize=256)
def _sid(signer: IssuerSerial | bytes) -> cms.SignerIdentifier:
    # RFC 5652 §5.3: issuerAndSerialNumber, or [0] subjectKeyIdentifier.
    if isinstance(signer, bytes):
        return cms.SignerIdentifier(name="subject_key_identifier", value=signer)
    return cms.SignerIdentifier(
        name="issuer_and_serial_number", value=frozen(issuer_and_serial_number(signer))
    )


@functools.lru_cache(maxsize=64)
def _certificate_set(certificates: tuple[bytes, ...]) -> cms.CertificateSet:
    # RFC 5652 §10.2.1; asn1crypto sorts the SET OF into DER order (X.690 §11.6).
    choices = [
        cms.CertificateChoices(name="certificate", value=asn1_x509.Certificate.load(der))
        for der in certificates
    ]
    return frozen(cms.CertificateSet(choices), implicit=0)  # certificates [0] IMPLICIT


@functools.lru_cache(maxsize=4)
def _detached_content_info(by_key_id: bool) -> core.Asn1Value:
    # RFC 5652 §5.2: eContent absent. Version 1 reads as PKCS #7's ContentInfo (RFC 2315 §7).
    kind = cms.EncapsulatedContentInfo if by_key_id else cms.ContentInfo
    return frozen(kind({"content_type": "data"}))


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


@functools.lru_cache(maxsize=64)
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


def signed_data_der(
    *,
    content: bytes | None,
    digest_oid: str,
    signature_algorithm: AlgorithmIdentifier,
    signer: IssuerSerial | bytes,
    signed_attributes: bytes | None,
    signature: bytes,
    certificates: Sequence[bytes],
) -> bytes:
    """A DER ContentInfo with SignedData over id-data (RFC 5652 §5.1).

    ``content`` None gives a detached signature (RFC 5652 §5.2). ``signer`` is
    an IssuerAndSerialNumber (version 1) or a subject key identifier (version 3).
    ``signed_attributes`` None means the signature is over the content itself.
    """
    by_key_id = isinstance(signer, bytes)
    version = constant(cms.CMSVersion, "v3" if by_key_id else "v1")
    signer_info: dict[str, Any] = {
        "version": version,
        "sid": _sid(signer),
        "digest_algorithm": _digest_algorithm(digest_oid),
        "signature_algorithm": _signature_algorithm_value(
            signature_algorithm.oid, signature_algorithm.parameters
        ),
        "signature": signature,
    }
    if signed_attributes is not None:
        # [0] IMPLICIT SET OF Attribute: the SET's contents under the context tag.
        contents = cms.CMSAttributes.load(signed_attributes).contents
        signer_info["signed_attrs"] = cms.CMSAttributes(contents=contents, implicit=0)
    signed: dict[str, Any] = {
        # RFC 5652 §5.1: version 3 when any SignerInfo is version 3.
        "version": version,
        "digest_algorithms": _digest_algorithms(digest_oid),
        "encap_content_info": _encapsulated(content, by_key_id),
        "signer_infos": frozen(cms.SignerInfos([frozen(cms.SignerInfo(signer_info))])),
    }
    if certificates:
        signed["certificates"] = _certificate_set(_unique(certificates))
    # The levels that hold the content are each encoded once, innermost first; a
    # level's object is dropped once its parent holds the encoding (one large copy
    # less per level).
    body = frozen(cms.SignedData(signed), explicit=0)  # content [0] EXPLICIT
    del signed
    info = cms.ContentInfo({"content_type": _SIGNED_DATA, "content": body})
    del body
    return bytes(frozen(info).dump())


_SIGNED_DATA = constant(cms.ContentType, OID_SIGNED_DATA)
_DATA = constant(cms.ContentType, OID_DATA)


def _encapsulated(content: bytes | None, by_key_id: bool) -> core.Asn1Value:
    if content is None:
        return _detached_content_info(by_key_id)
    if by_key_id:
        # RFC 5652 §5.2: eContent [0] EXPLICIT OCTET STRING
        return frozen(
            cms.EncapsulatedContentInfo(
                {"content_type": _DATA, "content": core.ParsableOctetString(content)}
            )
        )
    # Version 1: asn1crypto reads the PKCS #7 ContentInfo shape (RFC 2315 §7), the same DER.
    return frozen(cms.ContentInfo({"content_type": _DATA, "content": core.OctetString(content)}))

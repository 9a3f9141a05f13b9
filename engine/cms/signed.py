"""CMS SignedData (RFC 5652 §5): parsed into plain values, and built as DER.

Typed build and parse over asn1crypto: the rest of the engine gets plain dataclasses,
bytes, ints and dotted OIDs, never an asn1crypto object. Parsing accepts BER
(indefinite lengths, constructed strings); building writes DER. The signed attributes
are :mod:`engine.cms.attributes`, algorithm parameters :mod:`engine.cms.parameters`,
signer identifiers :mod:`engine.cms.identifiers`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509

from engine._internal.memo import bounded, memoize
from engine.cms.algorithms import MGF1 as OID_MGF1
from engine.cms.algorithms import RSASSA_PSS as OID_RSASSA_PSS
from engine.cms.attributes import (
    OID_CONTENT_TYPE,
    OID_MESSAGE_DIGEST,
    OID_SIGNING_TIME,
    Capability,
    SignedAttributes,
    SignedEncodings,
    parse_attribute,
    signed_attributes,
)
from engine.cms.codec import constant, decode, dotted, frozen
from engine.cms.content_types import OID_DATA, OID_SIGNED_DATA
from engine.cms.identifiers import (
    IssuerSerial,
    KeyReference,
    issuer_and_serial_number,
    issuer_serial,
    same_name,
)
from engine.cms.parameters import (
    AlgorithmIdentifier,
    PssParameters,
    algorithm_der,
    signature_algorithm,
)
from engine.errors import DecodeError, InputError

# What a verifier reads of a SignerInfo comes with it, re-exported: the OIDs it checks
# (RFC 5652 §11, RFC 4055 §3.1) and the names of its parts.
__all__ = [
    "OID_CONTENT_TYPE",
    "OID_MESSAGE_DIGEST",
    "OID_MGF1",
    "OID_RSASSA_PSS",
    "OID_SIGNING_TIME",
    "Capability",
    "IssuerSerial",
    "KeyReference",
    "SignedAttributes",
    "SignedDataContent",
    "SignerInfoData",
    "parse_signed_data",
    "same_name",
    "signed_data_der",
]


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


def parse_signed_data(der: bytes) -> SignedDataContent:
    """Parse a ContentInfo holding SignedData (DER or BER)."""
    if not der:
        raise DecodeError("a CMS ContentInfo", "empty input")
    return decode("a CMS SignedData ContentInfo", der, lambda: _parse_signed_data(der))


def _parse_signed_data(der: bytes) -> SignedDataContent:
    info = _ContentInfo.load(der)
    content_type = dotted(info["content_type"])
    if content_type != OID_SIGNED_DATA:
        raise InputError(
            f"CMS signed-data ({OID_SIGNED_DATA})", f"content type {_oid_name(content_type)}"
        )
    signed = info["content"]
    encap = signed["encap_content_info"]
    inner_type = dotted(encap["content_type"])
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
    return tuple(dotted(algorithm["algorithm"]) for algorithm in algorithms)


@memoize(maxsize=64, max_bytes=1024)
def _digest_oid(encoding: bytes) -> str:
    return dotted(algos.DigestAlgorithm.load(encoding)["algorithm"])


@memoize(maxsize=64, max_bytes=64 * 1024)
def _certificates(contents: bytes) -> tuple[bytes, ...]:
    """The DER of each X.509 certificate in a CertificateSet's contents (RFC 5652 §10.2.1);
    other certificate formats are skipped. Not .native: it decodes every field."""
    choices = cms.CertificateSet(contents=contents)
    return tuple(bytes(c.chosen.dump()) for c in choices if c.name == "certificate")


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
    algorithm, pss = signature_algorithm(bytes(info["signature_algorithm"].dump()))
    raw_attributes = info["signed_attrs"]
    attributes: SignedAttributes | None = None
    candidates: Sequence[bytes] = ()
    if not isinstance(raw_attributes, core.Void):
        members = [parse_attribute(bytes(member.dump())) for member in raw_attributes]
        attributes = signed_attributes(members)
        # RFC 5652 §5.4: the signature covers the attributes with the SET OF tag.
        candidates = SignedEncodings(
            bytes(cms.CMSAttributes(contents=raw_attributes.contents).dump()),
            tuple(member.der for member in members),
        )
    return SignerInfoData(
        signer=signer,
        digest_oid=_digest_oid(bytes(info["digest_algorithm"].dump())),
        signature_algorithm=algorithm,
        pss=pss,
        attributes=attributes,
        signed_der_candidates=candidates,
        signature=bytes(info["signature"].native),
    )


@memoize(maxsize=256, max_bytes=4096)
def _signer_identifier_of(encoding: bytes) -> KeyReference:
    sid = cms.SignerIdentifier.load(encoding)
    if sid.name == "issuer_and_serial_number":
        return KeyReference(issuer_serial=issuer_serial(sid.chosen))
    return KeyReference(subject_key_identifier=bytes(sid.chosen.native))


# --- building -----------------------------------------------------------------


def _unique(items: Sequence[bytes]) -> tuple[bytes, ...]:
    return tuple(dict.fromkeys(items))


@bounded(maxsize=64)
def _digest_algorithm(oid: str) -> algos.DigestAlgorithm:
    return algos.DigestAlgorithm.load(algorithm_der(oid))


@bounded(maxsize=64)
def _digest_algorithms(oid: str) -> cms.DigestAlgorithms:
    return frozen(cms.DigestAlgorithms([_digest_algorithm(oid)]))


@bounded(maxsize=64)
def _signature_algorithm_value(oid: str, parameters: bytes | None) -> algos.SignedDigestAlgorithm:
    return algos.SignedDigestAlgorithm.load(algorithm_der(oid, parameters))


@bounded(maxsize=256)
def _sid(signer: IssuerSerial | bytes) -> cms.SignerIdentifier:
    # RFC 5652 §5.3: issuerAndSerialNumber, or [0] subjectKeyIdentifier.
    if isinstance(signer, bytes):
        return cms.SignerIdentifier(name="subject_key_identifier", value=signer)
    return cms.SignerIdentifier(
        name="issuer_and_serial_number", value=frozen(issuer_and_serial_number(signer))
    )


@bounded(maxsize=64)
def _certificate_set(certificates: tuple[bytes, ...]) -> cms.CertificateSet:
    # RFC 5652 §10.2.1; asn1crypto sorts the SET OF into DER order (X.690 §11.6).
    choices = [
        cms.CertificateChoices(name="certificate", value=asn1_x509.Certificate.load(der))
        for der in certificates
    ]
    return frozen(cms.CertificateSet(choices), implicit=0)  # certificates [0] IMPLICIT


@bounded(maxsize=4)
def _detached_content_info(by_key_id: bool) -> core.Asn1Value:
    # RFC 5652 §5.2: eContent absent. Version 1 reads as PKCS #7's ContentInfo (RFC 2315 §7).
    kind = cms.EncapsulatedContentInfo if by_key_id else cms.ContentInfo
    return frozen(kind({"content_type": "data"}))


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

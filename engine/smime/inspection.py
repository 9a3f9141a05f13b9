"""Describe a message's layers without keys: ``smime-harness inspect``.

Signed layers report the digest, signature scheme, signer, signed attribute
types, signing time, capabilities, encryption-key preference, the
certificates carried and whether the signature is intact. Encrypted layers
report the content cipher and every recipient (how its key is wrapped and how
it is identified). Nothing secret is shown because nothing secret is known.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from cryptography import x509

from engine.cms.algorithms import (
    KEY_AGREEMENT_SCHEMES,
    KEY_TRANSPORTS,
    KEY_WRAPS,
    PUBLIC_KEY_NAMES,
    SIGNATURE_ALGORITHMS,
    ContentCipher,
    DigestAlgorithm,
)
from engine.cms.attributes import (
    OID_CONTENT_TYPE,
    OID_ENCRYPTION_KEY_PREFERENCE,
    OID_MESSAGE_DIGEST,
    OID_MS_ENCRYPTION_KEY,
    OID_SIGNING_TIME,
    OID_SMIME_CAPABILITIES,
)
from engine.cms.container import name_text
from engine.cms.enveloped import EnvelopedMessage, decode_enveloped
from engine.cms.identifiers import IssuerSerial, names_equal
from engine.cms.key_agreement import KeyAgreeRecipient
from engine.cms.recipients import KeyTransRecipient, OtherRecipient
from engine.cms.signed import SignedDataContent, SignerInfoData, parse_signed_data
from engine.errors import DecodeError, InputError, UnsupportedAlgorithmError
from engine.pki.credential import certificate_from_der
from engine.smime.classification import EntityKind, classify
from engine.smime.describe import certificate_view
from engine.smime.entity import content_type, entity_parameter
from engine.smime.message import split_message
from engine.smime.multipart import multipart_first_part, signed_parts
from engine.smime.opening import MAX_DEPTH
from engine.smime.pkcs7 import PKCS7_SIGNATURE_TYPES, pkcs7_payload
from engine.smime.recipient import unsupported_recipient
from engine.smime.verification import verify

# Names for the algorithms a recipient uses, all from the registry; the
# cofactor-DH schemes keep their OID, as before.
_KEY_ENCRYPTION_NAMES = {
    **{wrap.oid: wrap.name for wrap in KEY_WRAPS.values()},
    "1.2.840.113549.1.9.16.3.9": "pwri-kek",  # RFC 3211 §2.3.1
    "1.2.840.113549.1.5.12": "pbkdf2",  # RFC 8018 A.2
    **{oid: transport.value for oid, transport in KEY_TRANSPORTS.items()},
    **{
        scheme.oid: f"ecdh ({scheme.name})"
        for scheme in KEY_AGREEMENT_SCHEMES.values()
        if "stdDH" in scheme.name
    },
}

_ORIGINATOR_NAMES = {oid: name.lower() for oid, name in PUBLIC_KEY_NAMES.items()}

_SIGNATURE_NAMES = {oid: spec.scheme.value for oid, spec in SIGNATURE_ALGORITHMS.items()}

_ATTRIBUTE_NAMES = {
    OID_CONTENT_TYPE: "content-type",
    OID_MESSAGE_DIGEST: "message-digest",
    OID_SIGNING_TIME: "signing-time",
    OID_SMIME_CAPABILITIES: "smime-capabilities",
    OID_ENCRYPTION_KEY_PREFERENCE: "smime-encryption-key-preference",
    OID_MS_ENCRYPTION_KEY: "microsoft-encryption-key-preference",
}


class Support(enum.Enum):
    """Whether the engine can process a layer or recipient, or only describe it."""

    SUPPORTED = "supported"
    UNSUPPORTED = "unsupported"


class RecipientKind(enum.Enum):
    """The RecipientInfo choices of RFC 5652 §6.2, by their ASN.1 names."""

    KEY_TRANSPORT = "ktri"
    KEY_AGREEMENT = "kari"
    KEK = "kekri"
    PASSWORD = "pwri"
    OTHER = "ori"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class InspectedRecipient:
    kind: RecipientKind
    key_encryption: str
    identifier: dict[str, Any] | None
    support: Support
    reason: str | None = None  # why it is unsupported

    def view(self) -> dict[str, Any]:
        return {
            "type": self.kind.value,
            "key_encryption": self.key_encryption,
            "identifier": self.identifier,
            "supported": self.support is Support.SUPPORTED,
            "unsupported": self.reason,
        }


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class InspectedLayer:
    """One layer. ``kind`` is the entity kind (signed-multipart, signed-opaque, enveloped,
    auth-enveloped, plain) or what the engine cannot process (pgp-signed, pgp-encrypted,
    multipart-encrypted, detached-signature, pkcs7-mime); ``support`` says whether the
    engine can process it, ``reason`` why not; ``recipients`` is for encrypted layers."""

    kind: str
    details: dict[str, Any]
    support: Support = Support.SUPPORTED
    reason: str | None = None
    recipients: tuple[InspectedRecipient, ...] = ()

    def view(self) -> dict[str, Any]:
        view: dict[str, Any] = {
            "kind": self.kind,
            "supported": self.support is Support.SUPPORTED,
            "unsupported": self.reason,
            **self.details,
        }
        if self.kind in _ENCRYPTED_KINDS:
            view["recipients"] = [recipient.view() for recipient in self.recipients]
        return view

    def summary(self) -> str:
        details = self.details
        if self.kind.startswith("signed") or self.kind == "detached-signature":
            signer = details.get("signer") or {}
            text = (
                f"{self.kind}: {details['digest']} {details['signature_scheme']}, "
                f"signer {signer.get('email') or signer.get('subject')}, "
                f"intact={details['intact']}, {len(details['certificates'])} certificate(s)"
            )
        elif self.kind in _ENCRYPTED_KINDS:
            kinds = ", ".join(
                f"{recipient.kind.value} {recipient.key_encryption}"
                + (
                    ""
                    if recipient.support is Support.SUPPORTED
                    else f" (unsupported: {recipient.reason})"
                )
                for recipient in self.recipients
            )
            text = (
                f"{self.kind}: {details['content_encryption']}, "
                f"{len(self.recipients)} recipient(s) [{kinds}]"
            )
        else:
            text = f"{self.kind}: {details['content_type']}"
        if self.support is Support.UNSUPPORTED:
            text += f" [unsupported: {self.reason}]"
        return text


_ENCRYPTED_KINDS = ("enveloped", "auth-enveloped")


def inspect(message: bytes) -> tuple[InspectedLayer, ...]:
    """Every layer that can be opened without a key, from the outside in.

    What the engine cannot process is described and marked unsupported rather than
    refused: a PGP/MIME layer (RFC 3156) around or inside S/MIME, a detached signature
    without its content, an unknown content-encryption or signature algorithm.
    """
    _, entity = split_message(message)
    layers: list[InspectedLayer] = []
    current = message
    for _ in range(MAX_DEPTH):
        ctype = content_type(entity)
        if ctype == "multipart/encrypted":
            layers.append(_multipart_encrypted(entity))
            break
        if ctype in PKCS7_SIGNATURE_TYPES:
            layers.append(_detached_alone(pkcs7_payload(entity)))
            break
        try:
            kind = classify(entity)
        except InputError as exc:
            # An application/pkcs7-mime entity with another CMS content type
            # (CompressedData, AuthenticatedData, ...).
            layers.append(
                InspectedLayer(
                    kind="pkcs7-mime",
                    details={"content_type": ctype},
                    support=Support.UNSUPPORTED,
                    reason=str(exc),
                )
            )
            break
        if kind is EntityKind.PGP_SIGNED:
            layer, first = _other_signed(entity, "application/pgp-signature")
            layers.append(layer)
            entity = current = first
            continue
        if kind in (EntityKind.SIGNED_MULTIPART, EntityKind.SIGNED_OPAQUE):
            layer, inner = _signed(current, entity, kind)
            layers.append(layer)
            if inner is None:
                break
            entity = current = inner
            continue
        if kind in (EntityKind.ENVELOPED, EntityKind.AUTH_ENVELOPED):
            layers.append(_enveloped(decode_enveloped(pkcs7_payload(entity)), kind))
        else:
            layers.append(InspectedLayer(kind=kind.value, details={"content_type": ctype}))
        break
    else:
        raise InputError(f"at most {MAX_DEPTH} nested layers", "more")
    return tuple(layers)


def _multipart_encrypted(entity: bytes) -> InspectedLayer:
    # RFC 1847 §2.2 multipart/encrypted: PGP/MIME (RFC 3156 §4) in practice; S/MIME
    # never uses it (RFC 8551 §3.3), so there is nothing the engine could open.
    protocol = (entity_parameter(entity, "protocol") or "").strip().lower()
    pgp = protocol == "application/pgp-encrypted"
    return InspectedLayer(
        kind="pgp-encrypted" if pgp else "multipart-encrypted",
        details={"content_type": "multipart/encrypted", "protocol": protocol or None},
        support=Support.UNSUPPORTED,
        reason=(
            "PGP/MIME encryption (RFC 3156 §4), not S/MIME"
            if pgp
            else f"multipart/encrypted with protocol {protocol or '(none)'}, not S/MIME"
        ),
    )


def _other_signed(entity: bytes, protocol: str) -> tuple[InspectedLayer, bytes]:
    # RFC 1847 §2.1 multipart/signed with another protocol: PGP/MIME (RFC 3156 §5) in
    # practice. Its first part is the signed content, which may itself be S/MIME.
    pgp = protocol == "application/pgp-signature"
    layer = InspectedLayer(
        kind="pgp-signed" if pgp else "signed-multipart",
        details={
            "content_type": "multipart/signed",
            "protocol": protocol,
            "micalg": entity_parameter(entity, "micalg"),
        },
        support=Support.UNSUPPORTED,
        reason=(
            "a PGP/MIME signature (RFC 3156 §5), not S/MIME: not checked"
            if pgp
            else f"multipart/signed with protocol {protocol}, not S/MIME: not checked"
        ),
    )
    return layer, multipart_first_part(entity)


def _signed(current: bytes, entity: bytes, kind: EntityKind) -> tuple[InspectedLayer, bytes | None]:
    content: bytes | None
    if kind is EntityKind.SIGNED_MULTIPART:
        protocol = (entity_parameter(entity, "protocol") or "").strip().lower()
        if protocol and protocol not in PKCS7_SIGNATURE_TYPES:
            return _other_signed(entity, protocol)
        parts = signed_parts(entity)
        der, content = parts.signature, parts.content
    else:
        der = pkcs7_payload(entity)
        content = None
    parsed = parse_signed_data(der)
    if content is None:
        content = parsed.content
    if content is None:
        return _detached_alone(der, parsed), None
    signer_info = parsed.signers[0] if parsed.signers else None
    signing_time = (
        signer_info.attributes.signing_time if signer_info and signer_info.attributes else None
    )
    # Trust needs anchors, which inspection has none of: only "intact" is meaningful here.
    try:
        result = verify(current, anchors=(), at=signing_time or _some_time(parsed.certificates))
    except UnsupportedAlgorithmError as exc:
        # An unknown digest or signature algorithm: described, not checked.
        layer = _unverified(kind.value, parsed, reason=f"{exc.found}: the signature is not checked")
        return layer, content
    attributes = signer_info.attributes if signer_info else None
    details: dict[str, Any] = {
        "intact": result.intact,
        "digest": result.digest.value,
        "signature_scheme": result.scheme.value,
        "signer": None if result.signer is None else certificate_view(result.signer),
        "signing_time": None if result.signing_time is None else result.signing_time.isoformat(),
        "signed_attributes": [
            _ATTRIBUTE_NAMES.get(oid, oid) for oid in (attributes.types if attributes else ())
        ],
        "capabilities": [c.value for c in result.capabilities],
        "capability_oids": list(result.capability_oids),
        "encryption_certificate": None
        if result.encryption_certificate is None
        else certificate_view(result.encryption_certificate),
        "certificates": [certificate_view(c) for c in result.certificates],
        "signers": len(parsed.signers),
        "reasons": [r for r in result.reasons if "trust" not in r.lower()],
    }
    return InspectedLayer(kind=kind.value, details=details), result.content


def _detached_alone(der: bytes, parsed: SignedDataContent | None = None) -> InspectedLayer:
    """A SignedData without its content (application/pkcs7-signature on its own, or
    signed-data whose eContent is absent, RFC 5652 §5.2): what it says, unchecked."""
    return _unverified(
        "detached-signature",
        parsed if parsed is not None else parse_signed_data(der),
        reason="a detached signature without its content: nothing to check it against",
    )


def _unverified(kind: str, parsed: SignedDataContent, *, reason: str) -> InspectedLayer:
    signer_info = parsed.signers[0] if parsed.signers else None
    attributes = signer_info.attributes if signer_info else None
    certificates = _loadable(parsed.certificates)
    signer = None if signer_info is None else _signer_of(signer_info, certificates)
    details: dict[str, Any] = {
        "intact": None,  # not checked
        "digest": "none" if signer_info is None else _digest_name(signer_info.digest_oid),
        "signature_scheme": "none"
        if signer_info is None
        else _SIGNATURE_NAMES.get(
            signer_info.signature_algorithm.oid, signer_info.signature_algorithm.oid
        ),
        "signer": None if signer is None else certificate_view(signer),
        "signing_time": None
        if attributes is None or attributes.signing_time is None
        else attributes.signing_time.isoformat(),
        "signed_attributes": [
            _ATTRIBUTE_NAMES.get(oid, oid) for oid in (attributes.types if attributes else ())
        ],
        "capability_oids": [c.oid for c in (attributes.capabilities if attributes else ())],
        "certificates": [certificate_view(c) for c in certificates],
        "signers": len(parsed.signers),
        "reasons": [],
    }
    return InspectedLayer(kind=kind, details=details, support=Support.UNSUPPORTED, reason=reason)


def _digest_name(oid: str) -> str:
    try:
        return DigestAlgorithm.from_oid(oid).value
    except UnsupportedAlgorithmError:
        return oid


def _loadable(ders: tuple[bytes, ...]) -> list[x509.Certificate]:
    loaded = []
    for der in ders:
        try:
            loaded.append(certificate_from_der(der))  # names and extensions read now
        except DecodeError:
            continue
    return loaded


def _signer_of(
    info: SignerInfoData, certificates: list[x509.Certificate]
) -> x509.Certificate | None:
    reference = info.signer
    for certificate in certificates:
        if reference.issuer_serial is not None:
            if certificate.serial_number == reference.issuer_serial.serial and names_equal(
                certificate.issuer.public_bytes(), reference.issuer_serial.issuer
            ):
                return certificate
        elif reference.subject_key_identifier is not None:
            try:
                ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            except (x509.ExtensionNotFound, ValueError):
                continue
            if ski.value.digest == reference.subject_key_identifier:
                return certificate
    return None


def _some_time(certificates: tuple[bytes, ...]) -> Any:
    import datetime as dt

    for der in certificates:
        try:
            return certificate_from_der(der).not_valid_before_utc
        except DecodeError:
            continue
    return dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _enveloped(message: EnvelopedMessage, kind: EntityKind) -> InspectedLayer:
    support, reason = Support.SUPPORTED, None
    try:
        cipher: str = ContentCipher.from_oid(message.algorithm_oid).value
    except UnsupportedAlgorithmError as exc:
        cipher = message.algorithm_oid
        support, reason = Support.UNSUPPORTED, f"{exc.found}: cannot be decrypted"
    recipients: list[InspectedRecipient] = []
    for recipient in message.recipients:
        problem = unsupported_recipient(recipient)
        state = Support.SUPPORTED if problem is None else Support.UNSUPPORTED
        if isinstance(recipient, KeyTransRecipient):
            recipients.append(
                InspectedRecipient(
                    kind=RecipientKind.KEY_TRANSPORT,
                    key_encryption=_KEY_ENCRYPTION_NAMES.get(
                        recipient.algorithm_oid, recipient.algorithm_oid
                    ),
                    identifier=_rid(recipient.rid),
                    support=state,
                    reason=problem,
                )
            )
        elif isinstance(recipient, KeyAgreeRecipient):
            name = _KEY_ENCRYPTION_NAMES.get(recipient.algorithm_oid, recipient.algorithm_oid)
            if recipient.originator_key_oid in _ORIGINATOR_NAMES:
                name = f"{_ORIGINATOR_NAMES[recipient.originator_key_oid]} {name}"
            for key in recipient.encrypted_keys:
                recipients.append(
                    InspectedRecipient(
                        kind=RecipientKind.KEY_AGREEMENT,
                        key_encryption=name,
                        identifier=_rid(key.rid),
                        support=state,
                        reason=problem,
                    )
                )
        else:
            recipients.append(_other_recipient(recipient, problem))
    return InspectedLayer(
        kind=kind.value,
        details={
            "content_encryption": cipher,
            "authenticated": message.authenticated,
            "inner_content_type": message.content_type,
        },
        support=support,
        reason=reason,
        recipients=tuple(recipients),
    )


def _other_recipient(recipient: OtherRecipient, problem: str | None) -> InspectedRecipient:
    kinds = {k.value: k for k in RecipientKind}
    kind = kinds.get(recipient.kind, RecipientKind.OTHER)
    identifier: dict[str, Any] | None = None
    algorithm = recipient.algorithm_oid or recipient.kind
    if kind is RecipientKind.KEK:
        identifier = {"kek_identifier": recipient.identifier}
    elif kind is RecipientKind.PASSWORD:
        derivation = recipient.identifier
        identifier = {"key_derivation": _KEY_ENCRYPTION_NAMES.get(derivation or "", derivation)}
    elif kind is RecipientKind.OTHER:
        identifier = {"ori_type": recipient.algorithm_oid}
    return InspectedRecipient(
        kind=kind,
        key_encryption=_KEY_ENCRYPTION_NAMES.get(algorithm, algorithm),
        identifier=identifier,
        support=Support.UNSUPPORTED,
        reason=problem or f"a {recipient.kind} recipient info is not supported",
    )


def _rid(rid: Any) -> dict[str, Any]:
    if isinstance(rid, IssuerSerial):
        return {"issuer": name_text(rid.issuer), "serial": format(rid.serial, "x")}
    return {"subject_key_identifier": rid.key_identifier.hex()}

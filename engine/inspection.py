"""Describe a message's layers without keys: ``smime-harness inspect``.

Signed layers report the digest, signature scheme, signer, signed attribute
types, signing time, capabilities, encryption-key preference, the
certificates carried and whether the signature is intact. Encrypted layers
report the content cipher and every recipient (how its key is wrapped and how
it is identified). Nothing secret is shown because nothing secret is known.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from engine.algorithms import ContentCipher
from engine.asn1.container import name_text
from engine.asn1.enveloped import (
    EnvelopedMessage,
    IssuerSerial,
    KeyAgreeRecipient,
    KeyTransRecipient,
    decode_enveloped,
)
from engine.asn1.signed import parse_signed_data
from engine.credential import certificate_from_der
from engine.errors import DecodeError, UnsupportedAlgorithmError
from engine.mime import (
    EntityKind,
    classify,
    content_type,
    pkcs7_payload,
    signed_parts,
    split_message,
)
from engine.verification import verify
from engine.views import certificate_view

_KEY_ENCRYPTION_NAMES = {
    "1.2.840.113549.1.1.1": "rsaes-pkcs1-v1_5",
    "1.2.840.113549.1.1.7": "rsaes-oaep",
    "1.3.132.1.11.1": "ecdh (dhSinglePass-stdDH-sha256kdf)",
    "1.3.132.1.11.2": "ecdh (dhSinglePass-stdDH-sha384kdf)",
    "1.3.132.1.11.3": "ecdh (dhSinglePass-stdDH-sha512kdf)",
    "1.3.133.16.840.63.0.2": "ecdh (dhSinglePass-stdDH-sha1kdf)",
}

_ATTRIBUTE_NAMES = {
    "1.2.840.113549.1.9.3": "content-type",
    "1.2.840.113549.1.9.4": "message-digest",
    "1.2.840.113549.1.9.5": "signing-time",
    "1.2.840.113549.1.9.15": "smime-capabilities",
    "1.2.840.113549.1.9.16.2.11": "smime-encryption-key-preference",
    "1.3.6.1.4.1.311.16.4": "microsoft-encryption-key-preference",
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class InspectedLayer:
    kind: str  # entity kind: signed-multipart, signed-opaque, enveloped, auth-enveloped, plain
    details: dict[str, Any]

    def view(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.details}

    def summary(self) -> str:
        details = self.details
        if self.kind.startswith("signed"):
            signer = details.get("signer") or {}
            return (
                f"{self.kind}: {details['digest']} {details['signature_scheme']}, "
                f"signer {signer.get('email') or signer.get('subject')}, "
                f"intact={details['intact']}, {len(details['certificates'])} certificate(s)"
            )
        if self.kind in ("enveloped", "auth-enveloped"):
            kinds = ", ".join(r["key_encryption"] for r in details["recipients"])
            return (
                f"{self.kind}: {details['content_encryption']}, "
                f"{len(details['recipients'])} recipient(s) [{kinds}]"
            )
        return f"{self.kind}: {details['content_type']}"


def inspect(message: bytes) -> tuple[InspectedLayer, ...]:
    """Every layer that can be opened without a key, from the outside in."""
    _, entity = split_message(message)
    layers: list[InspectedLayer] = []
    current = message
    for _ in range(8):
        kind = classify(entity)
        if kind in (EntityKind.SIGNED_MULTIPART, EntityKind.SIGNED_OPAQUE):
            layer, inner = _signed(current, entity, kind)
            layers.append(layer)
            entity = current = inner
            continue
        if kind in (EntityKind.ENVELOPED, EntityKind.AUTH_ENVELOPED):
            layers.append(_enveloped(decode_enveloped(pkcs7_payload(entity)), kind))
        else:
            layers.append(
                InspectedLayer(kind=kind.value, details={"content_type": content_type(entity)})
            )
        break
    return tuple(layers)


def _signed(current: bytes, entity: bytes, kind: EntityKind) -> tuple[InspectedLayer, bytes]:
    der = (
        signed_parts(entity).signature
        if kind is EntityKind.SIGNED_MULTIPART
        else pkcs7_payload(entity)
    )
    parsed = parse_signed_data(der)
    signer_info = parsed.signers[0] if parsed.signers else None
    signing_time = (
        signer_info.attributes.signing_time if signer_info and signer_info.attributes else None
    )
    # Trust needs anchors, which inspection has none of: only "intact" is meaningful here.
    result = verify(current, anchors=(), at=signing_time or _some_time(parsed.certificates))
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


def _some_time(certificates: tuple[bytes, ...]) -> Any:
    import datetime as dt

    for der in certificates:
        try:
            return certificate_from_der(der).not_valid_before_utc
        except DecodeError:
            continue
    return dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _enveloped(message: EnvelopedMessage, kind: EntityKind) -> InspectedLayer:
    try:
        cipher: str = ContentCipher.from_oid(message.algorithm_oid).value
    except UnsupportedAlgorithmError:
        cipher = message.algorithm_oid
    recipients: list[dict[str, Any]] = []
    for recipient in message.recipients:
        if isinstance(recipient, KeyTransRecipient):
            recipients.append(
                {
                    "key_encryption": _KEY_ENCRYPTION_NAMES.get(
                        recipient.algorithm_oid, recipient.algorithm_oid
                    ),
                    "identifier": _rid(recipient.rid),
                }
            )
        elif isinstance(recipient, KeyAgreeRecipient):
            for key in recipient.encrypted_keys:
                recipients.append(
                    {
                        "key_encryption": _KEY_ENCRYPTION_NAMES.get(
                            recipient.algorithm_oid, recipient.algorithm_oid
                        ),
                        "identifier": _rid(key.rid),
                    }
                )
        else:
            recipients.append({"key_encryption": recipient.kind, "identifier": None})
    return InspectedLayer(
        kind=kind.value,
        details={
            "content_encryption": cipher,
            "authenticated": message.authenticated,
            "inner_content_type": message.content_type,
            "recipients": recipients,
        },
    )


def _rid(rid: Any) -> dict[str, Any]:
    if isinstance(rid, IssuerSerial):
        return {"issuer": name_text(rid.issuer), "serial": format(rid.serial, "x")}
    return {"subject_key_identifier": rid.key_identifier.hex()}

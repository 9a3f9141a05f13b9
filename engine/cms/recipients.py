"""RecipientInfo (RFC 5652 §6.2): who can open an EnvelopedData or AuthEnvelopedData.

KeyTransRecipientInfo (§6.2.1) is built and parsed here, KeyAgreeRecipientInfo
(§6.2.2) in :mod:`engine.cms.key_agreement`; KEKRecipientInfo, PasswordRecipientInfo
and OtherRecipientInfo (§6.2.3-§6.2.5) are only described, since no certificate's key
opens them. Algorithm parameters are :mod:`engine.cms.parameters`.
"""

from __future__ import annotations

import dataclasses

from asn1crypto import cms, core

from engine._internal.memo import bounded, memoize
from engine.cms.codec import constant, frozen, octets
from engine.cms.identifiers import (
    IssuerSerial,
    KeyIdentifier,
    RecipientId,
    issuer_and_serial_number,
    recipient_issuer_serial,
)
from engine.cms.key_agreement import (
    KeyAgreeRecipient,
    key_agree_recipient_info,
    parse_key_agree_recipient,
)
from engine.cms.parameters import OaepParameters, key_transport, key_transport_algorithm
from engine.errors import InputError


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class KeyTransRecipient:
    """KeyTransRecipientInfo (RFC 5652 §6.2.1)."""

    rid: RecipientId
    algorithm_oid: str
    encrypted_key: bytes
    oaep: OaepParameters | None = None  # present for RSAES-OAEP
    # What in its parameters the engine does not implement, as (what, OID), e.g. ("OAEP
    # mask generation function", "1.2.3"): it is skipped, not fatal to the others
    # (RFC 5652 §6.2).
    unsupported: tuple[str, str] | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OtherRecipient:
    """KEKRecipientInfo, PasswordRecipientInfo or OtherRecipientInfo (RFC 5652 §6.2.3-§6.2.5):
    described, never matched (no certificate's key can open them).

    ``kind`` is asn1crypto's name of the choice (kekri, pwri, ori); ``algorithm_oid`` the
    key-encryption algorithm (kekri, pwri) or the oriType (ori); ``identifier`` what names
    the key: the KEK identifier in hex (kekri), the key-derivation algorithm (pwri).
    """

    kind: str
    algorithm_oid: str | None = None
    identifier: str | None = None


Recipient = KeyTransRecipient | KeyAgreeRecipient | OtherRecipient


# --- building -----------------------------------------------------------------------------


def recipient_info(recipient: Recipient) -> cms.RecipientInfo:
    """The RecipientInfo of a key transport or key agreement recipient (RFC 5652 §6.2)."""
    if isinstance(recipient, KeyTransRecipient):
        # RFC 5652 §6.2.1: version 0 for issuerAndSerialNumber, 2 for subjectKeyIdentifier.
        version = constant(
            cms.CMSVersion, "v0" if isinstance(recipient.rid, IssuerSerial) else "v2"
        )
        info = cms.KeyTransRecipientInfo(
            {
                "version": version,
                "rid": _recipient_identifier(recipient.rid),
                "key_encryption_algorithm": key_transport_algorithm(
                    recipient.algorithm_oid, recipient.oaep
                ),
                "encrypted_key": recipient.encrypted_key,
            }
        )
        return cms.RecipientInfo(name="ktri", value=frozen(info))
    if isinstance(recipient, KeyAgreeRecipient):
        return cms.RecipientInfo(name="kari", value=frozen(key_agree_recipient_info(recipient)))
    raise InputError("a key transport or key agreement recipient to encode", recipient.kind)


@bounded(maxsize=256)
def _recipient_identifier(rid: RecipientId) -> cms.RecipientIdentifier:
    # A recipient is named the same way in every message sent to it.
    if isinstance(rid, IssuerSerial):
        return cms.RecipientIdentifier(
            name="issuer_and_serial_number", value=frozen(issuer_and_serial_number(rid))
        )
    return cms.RecipientIdentifier(name="subject_key_identifier", value=rid.key_identifier)


# --- parsing ------------------------------------------------------------------------------


def parse_recipient(info: cms.RecipientInfo) -> Recipient:
    """One RecipientInfo, whichever of the five kinds (RFC 5652 §6.2)."""
    kind = info.name
    value = info.chosen
    if kind == "ktri":
        algorithm_oid, oaep, unsupported = key_transport(
            bytes(value["key_encryption_algorithm"].dump())
        )
        return KeyTransRecipient(
            rid=_recipient_id(bytes(value["rid"].dump())),
            algorithm_oid=algorithm_oid,
            encrypted_key=octets(value["encrypted_key"]),
            oaep=oaep,
            unsupported=unsupported,
        )
    if kind == "kari":
        return parse_key_agree_recipient(value)
    if kind == "kekri":
        return OtherRecipient(
            kind=kind,
            algorithm_oid=value["key_encryption_algorithm"]["algorithm"].dotted,
            identifier=octets(value["kekid"]["key_identifier"]).hex(),
        )
    if kind == "pwri":
        derivation = value["key_derivation_algorithm"]
        return OtherRecipient(
            kind=kind,
            algorithm_oid=value["key_encryption_algorithm"]["algorithm"].dotted,
            identifier=None
            if isinstance(derivation, core.Void)
            else derivation["algorithm"].dotted,
        )
    if kind == "ori":
        return OtherRecipient(kind=kind, algorithm_oid=value["ori_type"].dotted)
    return OtherRecipient(kind=kind)


@memoize(maxsize=256, max_bytes=4096)
def _recipient_id(encoding: bytes) -> RecipientId:
    # A recipient is named the same way in every message sent to it.
    rid = cms.RecipientIdentifier.load(encoding)
    if rid.name == "issuer_and_serial_number":
        return recipient_issuer_serial(rid.chosen)
    return KeyIdentifier(key_identifier=octets(rid.chosen))

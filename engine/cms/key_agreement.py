"""KeyAgreeRecipientInfo with an ephemeral-static ECDH originator key (RFC 5652 §6.2.2,
RFC 5753 §3.1) and ECC-CMS-SharedInfo, the X9.63 KDF's shared info (RFC 5753 §7.2).

The structures carry bytes and dotted OIDs only; the ECDH, the KDF and the key wrap
are the business of :mod:`engine.smime.encryption` and :mod:`engine.smime.decryption`.
"""

from __future__ import annotations

import dataclasses

from asn1crypto import cms, core, keys

from engine.cms.algorithms import ID_EC_PUBLIC_KEY
from engine.cms.codec import frozen, octets
from engine.cms.identifiers import (
    IssuerSerial,
    KeyIdentifier,
    RecipientId,
    issuer_and_serial_number,
    recipient_issuer_serial,
)
from engine.errors import DecodeError, InputError


class _EccCmsSharedInfo(core.Sequence):  # type: ignore[misc]
    # RFC 5753 §7.2
    _fields = [  # noqa: RUF012
        ("key_info", cms.KeyEncryptionAlgorithm),
        ("entity_u_info", core.OctetString, {"explicit": 0, "optional": True}),
        ("supp_pub_info", core.OctetString, {"explicit": 2}),
    ]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RecipientEncryptedKey:
    rid: RecipientId
    encrypted_key: bytes


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class KeyAgreeRecipient:
    """KeyAgreeRecipientInfo (RFC 5652 §6.2.2) with an ephemeral originator key (RFC 5753 §3.1).

    ``originator_point`` is the encoded EC point of the originatorKey; None when the
    originator is named by certificate instead (static-static ECDH, not supported).
    """

    originator_point: bytes | None
    ukm: bytes | None
    algorithm_oid: str  # e.g. dhSinglePass-stdDH-sha256kdf-scheme
    wrap_oid: str  # the KeyWrapAlgorithm carried as its parameters
    encrypted_keys: tuple[RecipientEncryptedKey, ...]
    # The originatorKey's algorithm: id-ecPublicKey for RFC 5753, id-X25519 / id-X448 for
    # RFC 8418 (not supported: such a recipient is described and skipped); None when the
    # originator is named by certificate.
    originator_key_oid: str | None = ID_EC_PUBLIC_KEY


def key_agree_recipient_info(recipient: KeyAgreeRecipient) -> cms.KeyAgreeRecipientInfo:
    """The KeyAgreeRecipientInfo of ``recipient`` (RFC 5652 §6.2.2, RFC 5753 §3.1.1)."""
    if recipient.originator_point is None:
        raise InputError("an ephemeral originator key to encode", "none")
    # RFC 5753 §3.1.1: originatorKey with id-ecPublicKey, parameters absent.
    originator_key = keys.PublicKeyInfo(
        {
            "algorithm": keys.PublicKeyAlgorithm({"algorithm": "ec"}),
            "public_key": recipient.originator_point,
        }
    )
    encrypted_keys = []
    for entry in recipient.encrypted_keys:
        if isinstance(entry.rid, IssuerSerial):
            rid = cms.KeyAgreementRecipientIdentifier(
                name="issuer_and_serial_number", value=frozen(issuer_and_serial_number(entry.rid))
            )
        else:
            rid = cms.KeyAgreementRecipientIdentifier(
                name="r_key_id",
                # A dict, not cms.RecipientKeyIdentifier: asn1crypto defines that name
                # twice and the later class has other field names.
                value={"subject_key_identifier": entry.rid.key_identifier},
            )
        encrypted_keys.append({"rid": rid, "encrypted_key": entry.encrypted_key})
    fields: dict[str, object] = {
        "version": "v3",  # RFC 5652 §6.2.2: always 3
        "originator": cms.OriginatorIdentifierOrKey(name="originator_key", value=originator_key),
        "key_encryption_algorithm": _kari_algorithm(recipient.algorithm_oid, recipient.wrap_oid),
        "recipient_encrypted_keys": encrypted_keys,
    }
    if recipient.ukm is not None:
        fields["ukm"] = recipient.ukm
    return cms.KeyAgreeRecipientInfo(fields)


def _kari_algorithm(algorithm_oid: str, wrap_oid: str) -> cms.KeyEncryptionAlgorithm:
    # RFC 5753 §7.1.5: the parameters are the KeyWrapAlgorithm; AES wrap has absent parameters.
    wrap = cms.KeyEncryptionAlgorithm({"algorithm": wrap_oid})
    return cms.KeyEncryptionAlgorithm(
        {"algorithm": algorithm_oid, "parameters": core.Any.load(wrap.dump())}
    )


def encode_ecc_cms_shared_info(*, wrap_oid: str, ukm: bytes | None, kek_length: int) -> bytes:
    """DER ECC-CMS-SharedInfo, the X9.63 KDF shared info (RFC 5753 §7.2).

    ``kek_length`` is in bytes; suppPubInfo holds it in bits as 32-bit big-endian.
    """
    fields: dict[str, object] = {
        "key_info": cms.KeyEncryptionAlgorithm({"algorithm": wrap_oid}),
        "supp_pub_info": (kek_length * 8).to_bytes(4, "big"),
    }
    if ukm is not None:
        fields["entity_u_info"] = ukm
    return bytes(_EccCmsSharedInfo(fields).dump())


def parse_key_agree_recipient(value: cms.KeyAgreeRecipientInfo) -> KeyAgreeRecipient:
    """A parsed KeyAgreeRecipientInfo (RFC 5652 §6.2.2); an originator named by
    certificate gives no point, an X25519/X448 key (RFC 8418) keeps its OID."""
    originator = value["originator"]
    point: bytes | None = None
    key_oid: str | None = None
    if originator.name == "originator_key":
        key_info = originator.chosen
        # id-ecPublicKey (RFC 5753) or another (id-X25519, RFC 8418): kept, and judged
        # when the recipient is matched, so that one the engine cannot use is skipped.
        key_oid = key_info["algorithm"]["algorithm"].dotted
        point = bytes(key_info["public_key"].contents[1:])  # skip the unused-bits octet
    ukm_value = value["ukm"]
    ukm = None if isinstance(ukm_value, core.Void) else octets(ukm_value)
    algorithm = value["key_encryption_algorithm"]
    params = algorithm["parameters"]
    if isinstance(params, core.Void):
        raise DecodeError("a KeyWrapAlgorithm in the key agreement parameters", "none")
    wrap = cms.KeyEncryptionAlgorithm.load(params.dump())
    encrypted_keys = []
    for entry in value["recipient_encrypted_keys"]:
        rid_choice = entry["rid"]
        rid: RecipientId
        if rid_choice.name == "issuer_and_serial_number":
            rid = recipient_issuer_serial(rid_choice.chosen)
        else:
            rid = KeyIdentifier(key_identifier=octets(rid_choice.chosen["subject_key_identifier"]))
        encrypted_keys.append(
            RecipientEncryptedKey(rid=rid, encrypted_key=octets(entry["encrypted_key"]))
        )
    return KeyAgreeRecipient(
        originator_point=point,
        ukm=ukm,
        algorithm_oid=algorithm["algorithm"].dotted,
        wrap_oid=wrap["algorithm"].dotted,
        encrypted_keys=tuple(encrypted_keys),
        originator_key_oid=key_oid,
    )

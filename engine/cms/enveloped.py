"""Typed build and parse of CMS EnvelopedData and AuthEnvelopedData.

RFC 5652 §6 (EnvelopedData, KeyTransRecipientInfo, KeyAgreeRecipientInfo),
RFC 5083 (AuthEnvelopedData), RFC 5084 (GCMParameters), RFC 4055 (RSAES-OAEP
parameters) and RFC 5753 §7.2 (ECC-CMS-SharedInfo). The structures here carry
bytes and dotted OIDs only; choosing algorithms and doing cryptography is the
business of :mod:`engine.smime.encryption` and :mod:`engine.smime.decryption`.

Parsing accepts BER (indefinite lengths, constructed OCTET STRINGs) as real
clients emit it; building always produces DER.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Generic, TypeVar

from asn1crypto import algos, cms, core, keys, x509

from engine._internal.memo import memoize
from engine.cms.algorithms import (
    ID_EC_PUBLIC_KEY,
    MGF1,
    P_SPECIFIED,
    RSA_ENCRYPTION,
    CipherMode,
    DigestAlgorithm,
    cipher_mode,
)
from engine.cms.algorithms import RSAES_OAEP as REGISTRY_RSAES_OAEP
from engine.cms.signed import (
    OID_AUTH_ENVELOPED_DATA,
    OID_AUTHENTICATED_DATA,
    OID_COMPRESSED_DATA,
    OID_DATA,
    OID_DIGESTED_DATA,
    OID_ENCRYPTED_DATA,
    OID_ENVELOPED_DATA,
    OID_SIGNED_AND_ENVELOPED_DATA,
    OID_SIGNED_DATA,
    constant,
    frozen,
    issuer_and_serial_number,
)
from engine.cms.signed import IssuerSerial as IssuerSerial  # one type for both content types
from engine.errors import (
    DecodeError,
    InputError,
    SmimeError,
    UnsupportedAlgorithmError,
    describe_bytes,
)

DATA = OID_DATA
SIGNED_DATA = OID_SIGNED_DATA
ENVELOPED_DATA = OID_ENVELOPED_DATA
AUTH_ENVELOPED_DATA = OID_AUTH_ENVELOPED_DATA
COMPRESSED_DATA = OID_COMPRESSED_DATA

SHA1 = DigestAlgorithm.SHA1.oid
# The key-transport OIDs under the names RecipientInfo code uses (the registry's).
RSAES_PKCS1_V1_5 = RSA_ENCRYPTION
RSAES_OAEP = REGISTRY_RSAES_OAEP

_T = TypeVar("_T")

_CONTENT_TYPE_NAMES = {
    DATA: "Data",
    SIGNED_DATA: "SignedData",
    ENVELOPED_DATA: "EnvelopedData",
    OID_SIGNED_AND_ENVELOPED_DATA: "SignedAndEnvelopedData",
    OID_DIGESTED_DATA: "DigestedData",
    OID_ENCRYPTED_DATA: "EncryptedData",
    OID_AUTHENTICATED_DATA: "AuthenticatedData",
    OID_COMPRESSED_DATA: "CompressedData",
    AUTH_ENVELOPED_DATA: "AuthEnvelopedData",
}


class _GCMParameters(core.Sequence):  # type: ignore[misc]
    # RFC 5084 §3.2: GCMParameters ::= SEQUENCE { aes-nonce OCTET STRING,
    # aes-ICVlen AES-GCM-ICVlen DEFAULT 12 }
    _fields = [  # noqa: RUF012  (asn1crypto's class-level schema)
        ("aes_nonce", core.OctetString),
        ("aes_icvlen", core.Integer, {"default": 12}),
    ]


class _EccCmsSharedInfo(core.Sequence):  # type: ignore[misc]
    # RFC 5753 §7.2
    _fields = [  # noqa: RUF012
        ("key_info", cms.KeyEncryptionAlgorithm),
        ("entity_u_info", core.OctetString, {"explicit": 0, "optional": True}),
        ("supp_pub_info", core.OctetString, {"explicit": 2}),
    ]


class _ExplicitEnvelopedData(core.Sequence):  # type: ignore[misc]
    # RFC 5652 §3: content [0] EXPLICIT EnvelopedData, as asn1crypto sees its encoding:
    # a constructed [0] holding one value. Loaded as a value of its own, it holds the
    # [0]'s contents, so the ContentInfo can be let go before EnvelopedData is parsed.
    class_ = 2
    tag = 0
    _fields = [("content", cms.EnvelopedData)]  # noqa: RUF012


class _ExplicitAuthEnvelopedData(core.Sequence):  # type: ignore[misc]
    # RFC 5083 §2.1: the same for content [0] EXPLICIT AuthEnvelopedData.
    class_ = 2
    tag = 0
    _fields = [("content", cms.AuthEnvelopedData)]  # noqa: RUF012


class _ContentInfo(core.Sequence):  # type: ignore[misc]
    # RFC 5652 §3 ContentInfo, its [0] EXPLICIT content one of the two above.
    _fields = [  # noqa: RUF012
        ("content_type", cms.ContentType),
        ("content", core.Any, {"optional": True}),
    ]
    _oid_pair = ("content_type", "content")
    _oid_specs = {  # noqa: RUF012
        "enveloped_data": _ExplicitEnvelopedData,
        "authenticated_enveloped_data": _ExplicitAuthEnvelopedData,
    }


# --- typed values -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class KeyIdentifier:
    """subjectKeyIdentifier ([0] in KTRI) or rKeyId ([0] in KARI)."""

    key_identifier: bytes


RecipientId = IssuerSerial | KeyIdentifier


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OaepParameters:
    """RSAES-OAEP-params (RFC 4055 §4.1); the defaults are SHA-1 / MGF1-SHA-1 / empty label."""

    hash_oid: str = SHA1
    mgf_hash_oid: str = SHA1
    label: bytes = b""


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


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EnvelopedMessage:
    """An EnvelopedData (``authenticated`` False) or AuthEnvelopedData (True) in a ContentInfo.

    ``iv`` is the CBC IV or the GCM nonce; ``icv_length`` the GCM tag length (None for
    CBC); ``mac`` the GCM tag; ``auth_attributes`` the DER of authAttrs with the
    universal SET OF tag, i.e. the AAD of RFC 5083 §2.2 (None when absent).
    """

    authenticated: bool
    recipients: tuple[Recipient, ...]
    content_type: str
    algorithm_oid: str
    iv: bytes
    encrypted_content: bytes
    icv_length: int | None = None
    mac: bytes | None = None
    auth_attributes: bytes | None = None


# --- building ---------------------------------------------------------------------------------


class Handover(Generic[_T]):
    """A large value passed on with its only reference, so that the receiver, once it
    has taken it, can let it go as soon as it no longer needs it."""

    __slots__ = ("_value",)

    def __init__(self, value: _T) -> None:
        self._value: _T | None = value

    def take(self) -> _T:
        value = self._value
        if value is None:
            raise InputError("a value not taken yet", "one already taken")
        self._value = None
        return value


def encode_enveloped(message: EnvelopedMessage) -> bytes:
    """DER ContentInfo holding an EnvelopedData or AuthEnvelopedData (RFC 5652 §6.1,
    RFC 5083 §2.1)."""
    return encode_enveloped_from(Handover(message))


def encode_enveloped_from(handed: Handover[EnvelopedMessage]) -> bytes:
    """:func:`encode_enveloped` of a message nothing else holds: its encrypted content
    is let go once the level above holds its encoding.

    asn1crypto copies the content into every level it encodes; each level here is
    encoded once, innermost first, and dropped when its parent holds the encoding,
    so about three copies of a large content are alive at once, never more.
    """
    message = handed.take()
    authenticated = message.authenticated
    if authenticated and message.auth_attributes is not None:
        raise InputError("AuthEnvelopedData without authAttrs", "authAttrs to encode")
    recipient_infos = frozen(
        cms.RecipientInfos([_recipient_info(recipient) for recipient in message.recipients])
    )
    version = constant(
        cms.CMSVersion, "v0" if authenticated else _enveloped_version(message.recipients)
    )
    mac = message.mac or b""
    encrypted = cms.EncryptedContentInfo(
        {
            "content_type": constant(cms.ContentType, message.content_type),
            "content_encryption_algorithm": _content_encryption_algorithm(
                message.algorithm_oid, message.iv, message.icv_length
            ),
            "encrypted_content": message.encrypted_content,
        }
    )
    del message  # the encrypted content lives on in ``encrypted`` only
    content_info = frozen(encrypted)
    del encrypted
    if authenticated:
        # RFC 5083 §2.1: version is always 0.
        body: core.Asn1Value = cms.AuthEnvelopedData(
            {
                "version": version,
                "recipient_infos": recipient_infos,
                "auth_encrypted_content_info": content_info,
                "mac": mac,
            }
        )
        content_type = AUTH_ENVELOPED_DATA
    else:
        body = cms.EnvelopedData(
            {
                "version": version,
                "recipient_infos": recipient_infos,
                "encrypted_content_info": content_info,
            }
        )
        content_type = ENVELOPED_DATA
    del content_info
    body = frozen(body, explicit=0)  # content [0] EXPLICIT
    info = frozen(
        cms.ContentInfo({"content_type": constant(cms.ContentType, content_type), "content": body})
    )
    del body
    return bytes(info.dump())


def _content_encryption_algorithm(
    oid: str, iv: bytes, icv_length: int | None
) -> cms.EncryptionAlgorithm:
    # The registry says which parameters the cipher takes: an IV OCTET STRING for CBC
    # (RFC 3565 §4.1, RFC 3370 §5.1), GCMParameters for GCM (RFC 5084 §3.2).
    mode = cipher_mode(oid)
    if mode is CipherMode.GCM:
        # RFC 5084 §3.2; asn1crypto leaves out aes-ICVlen when it is the DEFAULT 12.
        params: core.Asn1Value = _GCMParameters({"aes_nonce": iv, "aes_icvlen": icv_length or 16})
    elif mode is CipherMode.CBC:
        params = core.OctetString(iv)
    else:
        raise UnsupportedAlgorithmError("content-encryption algorithm", oid)
    algorithm = constant(algos.EncryptionAlgorithmId, oid)
    return frozen(cms.EncryptionAlgorithm({"algorithm": algorithm, "parameters": params}))


def _enveloped_version(recipients: Sequence[Recipient]) -> str:
    # RFC 5652 §6.1: v0 when every RecipientInfo is v0 (KTRI by issuerAndSerialNumber),
    # else v2 (no originatorInfo, no unprotectedAttrs, no pwri/ori here).
    plain = all(
        isinstance(r, KeyTransRecipient) and isinstance(r.rid, IssuerSerial) for r in recipients
    )
    return "v0" if plain else "v2"


def _recipient_info(recipient: Recipient) -> cms.RecipientInfo:
    if isinstance(recipient, KeyTransRecipient):
        # RFC 5652 §6.2.1: version 0 for issuerAndSerialNumber, 2 for subjectKeyIdentifier.
        version = constant(
            cms.CMSVersion, "v0" if isinstance(recipient.rid, IssuerSerial) else "v2"
        )
        info = cms.KeyTransRecipientInfo(
            {
                "version": version,
                "rid": _recipient_identifier(recipient.rid),
                "key_encryption_algorithm": _key_transport_algorithm(
                    recipient.algorithm_oid, recipient.oaep
                ),
                "encrypted_key": recipient.encrypted_key,
            }
        )
        return cms.RecipientInfo(name="ktri", value=frozen(info))
    if isinstance(recipient, KeyAgreeRecipient):
        return cms.RecipientInfo(name="kari", value=frozen(_kari(recipient)))
    raise InputError("a key transport or key agreement recipient to encode", recipient.kind)


@functools.lru_cache(maxsize=256)
def _recipient_identifier(rid: RecipientId) -> cms.RecipientIdentifier:
    # A recipient is named the same way in every message sent to it.
    if isinstance(rid, IssuerSerial):
        return cms.RecipientIdentifier(
            name="issuer_and_serial_number", value=frozen(issuer_and_serial_number(rid))
        )
    return cms.RecipientIdentifier(name="subject_key_identifier", value=rid.key_identifier)


@functools.lru_cache(maxsize=64)
def _key_transport_algorithm(oid: str, oaep: OaepParameters | None) -> cms.KeyEncryptionAlgorithm:
    if oaep is None:
        # asn1crypto writes rsaEncryption with NULL parameters (RFC 3370 §4.2.1).
        return frozen(cms.KeyEncryptionAlgorithm({"algorithm": oid}))
    # RFC 4055 §4.1/§2.1: hash AlgorithmIdentifiers carry NULL; DEFAULT values are omitted.
    fields: dict[str, object] = {}
    if oaep.hash_oid != SHA1:
        fields["hash_algorithm"] = {"algorithm": oaep.hash_oid}
    if oaep.mgf_hash_oid != SHA1:
        fields["mask_gen_algorithm"] = {
            "algorithm": "mgf1",
            "parameters": {"algorithm": oaep.mgf_hash_oid},
        }
    if oaep.label:
        fields["p_source_algorithm"] = {"algorithm": "p_specified", "parameters": oaep.label}
    # All defaults: an empty SEQUENCE (RFC 4055 §4.1 rSAES-OAEP-Default-Identifier).
    params = algos.RSAESOAEPParams(fields) if fields else algos.RSAESOAEPParams.load(b"\x30\x00")
    return frozen(cms.KeyEncryptionAlgorithm({"algorithm": "rsaes_oaep", "parameters": params}))


def _kari(recipient: KeyAgreeRecipient) -> cms.KeyAgreeRecipientInfo:
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


# --- parsing ----------------------------------------------------------------------------------


def content_type_name(oid: str) -> str:
    """A readable name for a CMS content type OID, for messages."""
    name = _CONTENT_TYPE_NAMES.get(oid)
    return f"{name} ({oid})" if name else oid


def decode_enveloped(der: bytes, *, source: str | None = None) -> EnvelopedMessage:
    """Parse a ContentInfo holding EnvelopedData or AuthEnvelopedData (DER or BER).

    Raises DecodeError for bytes that are not a ContentInfo and InputError for another
    content type. An unknown content cipher or recipient algorithm is kept (by OID) for
    whoever judges it: decryption refuses the one it would need.
    """
    return decode_enveloped_from(Handover(der), source=source)


def decode_enveloped_from(
    handed: Handover[bytes], *, source: str | None = None
) -> EnvelopedMessage:
    """:func:`decode_enveloped` of an encoding nothing else holds.

    asn1crypto copies a level's contents out of its parent's when it parses it; each
    level here is let go once the level below is parsed, the encoding itself first,
    so a large content is held about twice while parsed, never more.
    """
    der = handed.take()
    if not der:
        raise DecodeError("a CMS ContentInfo", "empty input", source=source)
    described = describe_bytes(der)
    try:
        info = _ContentInfo.load(der)
        del der  # ``info`` holds its own copy of the contents
        content_type = info["content_type"].dotted
    except SmimeError:
        raise
    except Exception:
        raise DecodeError("a CMS ContentInfo", described, source=source) from None
    if content_type not in (ENVELOPED_DATA, AUTH_ENVELOPED_DATA):
        raise InputError(
            "CMS EnvelopedData or AuthEnvelopedData",
            content_type_name(content_type),
            source=source,
        )
    authenticated = content_type == AUTH_ENVELOPED_DATA
    what = "AuthEnvelopedData" if authenticated else "EnvelopedData"
    handed_info = Handover(info)
    del info
    try:
        return _parse_body(handed_info, authenticated=authenticated)
    except SmimeError:
        raise
    except Exception as exc:
        raise DecodeError(
            f"a well-formed {what}", f"malformed {what} ({_reason(exc)})", source=source
        ) from None


def _parse_body(handed: Handover[_ContentInfo], *, authenticated: bool) -> EnvelopedMessage:
    info = handed.take()
    wrapper = info["content"]
    del info  # ``wrapper`` holds its own copy of its contents
    if isinstance(wrapper, core.Void):
        raise DecodeError("a ContentInfo with content", "no content")
    body = wrapper["content"]
    del wrapper  # and ``body`` its own
    content_info = body[
        "auth_encrypted_content_info" if authenticated else "encrypted_content_info"
    ]
    recipient_infos = body["recipient_infos"]
    mac_value = body["mac"] if authenticated else None
    attrs = body["auth_attrs"] if authenticated else None
    del body  # the parts taken hold their own copies
    algorithm = content_info["content_encryption_algorithm"]
    algorithm_oid = algorithm["algorithm"].dotted
    raw_params = algorithm["parameters"]
    params_der = None if isinstance(raw_params, core.Void) else raw_params.dump()
    iv, icv_length = _content_parameters(algorithm_oid, params_der)
    inner_type = content_info["content_type"].dotted
    encrypted = content_info["encrypted_content"]
    del content_info  # ``encrypted`` holds its own copy of the octets
    encrypted_content = b"" if isinstance(encrypted, core.Void) else _octets(encrypted)
    del encrypted
    recipients = tuple(_parse_recipient(ri) for ri in recipient_infos)
    mac: bytes | None = None
    auth_attributes: bytes | None = None
    if mac_value is not None:
        mac = _octets(mac_value)
    if attrs is not None and not isinstance(attrs, core.Void):
        # RFC 5083 §2.2: the AAD is the DER of authAttrs with an EXPLICIT SET OF tag.
        auth_attributes = bytes(cms.CMSAttributes.load(attrs.untag().dump()).dump(force=True))
    return EnvelopedMessage(
        authenticated=authenticated,
        recipients=recipients,
        content_type=inner_type,
        algorithm_oid=algorithm_oid,
        iv=iv,
        encrypted_content=encrypted_content,
        icv_length=icv_length,
        mac=mac,
        auth_attributes=auth_attributes,
    )


def _content_parameters(oid: str, params_der: bytes | None) -> tuple[bytes, int | None]:
    mode = cipher_mode(oid)
    if mode is CipherMode.CBC:
        if params_der is None:
            raise DecodeError("a CBC IV in the content-encryption parameters", "none")
        return _octets(core.OctetString.load(params_der)), None
    if mode is CipherMode.GCM:
        if params_der is None:
            raise DecodeError("GCMParameters in the content-encryption parameters", "none")
        gcm = _GCMParameters.load(params_der)
        return _octets(gcm["aes_nonce"]), int(gcm["aes_icvlen"].native)
    # An algorithm the engine does not know: the message still parses, so that it can be
    # described (inspect, check-message); decryption refuses it by its OID.
    return b"", None


def _parse_recipient(info: cms.RecipientInfo) -> Recipient:
    kind = info.name
    value = info.chosen
    if kind == "ktri":
        algorithm_oid, oaep, unsupported = _key_transport(
            bytes(value["key_encryption_algorithm"].dump())
        )
        return KeyTransRecipient(
            rid=_recipient_id(bytes(value["rid"].dump())),
            algorithm_oid=algorithm_oid,
            encrypted_key=_octets(value["encrypted_key"]),
            oaep=oaep,
            unsupported=unsupported,
        )
    if kind == "kari":
        return _parse_kari(value)
    if kind == "kekri":
        return OtherRecipient(
            kind=kind,
            algorithm_oid=value["key_encryption_algorithm"]["algorithm"].dotted,
            identifier=_octets(value["kekid"]["key_identifier"]).hex(),
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


@memoize(maxsize=64, max_bytes=1024)
def _key_transport(
    encoding: bytes,
) -> tuple[str, OaepParameters | None, tuple[str, str] | None]:
    # The same few algorithm encodings in every message of a batch.
    algorithm = cms.KeyEncryptionAlgorithm.load(encoding)
    algorithm_oid = str(algorithm["algorithm"].dotted)
    if algorithm_oid != RSAES_OAEP:
        return algorithm_oid, None, None
    try:
        return algorithm_oid, _parse_oaep(algorithm), None
    except UnsupportedAlgorithmError as exc:
        # One recipient's parameters: that recipient is unusable, the others are not.
        return algorithm_oid, None, (exc.what, exc.oid)


@memoize(maxsize=256, max_bytes=4096)
def _recipient_id(encoding: bytes) -> RecipientId:
    # A recipient is named the same way in every message sent to it.
    return _parse_rid(cms.RecipientIdentifier.load(encoding))


def _parse_oaep(algorithm: cms.KeyEncryptionAlgorithm) -> OaepParameters:
    params = algorithm["parameters"]
    if isinstance(params, core.Void):
        return OaepParameters()  # RFC 4055 §4.1: absent means all defaults
    mgf = params["mask_gen_algorithm"]
    if mgf["algorithm"].dotted != MGF1:
        raise UnsupportedAlgorithmError("OAEP mask generation function", mgf["algorithm"].dotted)
    source = params["p_source_algorithm"]
    if source["algorithm"].dotted != P_SPECIFIED:
        raise UnsupportedAlgorithmError("OAEP label source", source["algorithm"].dotted)
    label_value = source["parameters"]
    label = b"" if isinstance(label_value, core.Void) else _octets(label_value)
    return OaepParameters(
        hash_oid=params["hash_algorithm"]["algorithm"].dotted,
        mgf_hash_oid=mgf["parameters"]["algorithm"].dotted,
        label=label,
    )


def _parse_kari(value: cms.KeyAgreeRecipientInfo) -> KeyAgreeRecipient:
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
    ukm = None if isinstance(ukm_value, core.Void) else _octets(ukm_value)
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
            rid = _issuer_serial(rid_choice.chosen)
        else:
            rid = KeyIdentifier(key_identifier=_octets(rid_choice.chosen["subject_key_identifier"]))
        encrypted_keys.append(
            RecipientEncryptedKey(rid=rid, encrypted_key=_octets(entry["encrypted_key"]))
        )
    return KeyAgreeRecipient(
        originator_point=point,
        ukm=ukm,
        algorithm_oid=algorithm["algorithm"].dotted,
        wrap_oid=wrap["algorithm"].dotted,
        encrypted_keys=tuple(encrypted_keys),
        originator_key_oid=key_oid,
    )


def _parse_rid(rid: cms.RecipientIdentifier) -> RecipientId:
    if rid.name == "issuer_and_serial_number":
        return _issuer_serial(rid.chosen)
    return KeyIdentifier(key_identifier=_octets(rid.chosen))


def _issuer_serial(value: cms.IssuerAndSerialNumber) -> IssuerSerial:
    return IssuerSerial(
        issuer=_der_name(bytes(value["issuer"].dump())), serial=int(value["serial_number"].native)
    )


@memoize(maxsize=256, max_bytes=4096)
def _der_name(received: bytes) -> bytes:
    """The DER of a received Name: asn1crypto's re-encoding, the same bytes when it was DER."""
    return bytes(x509.Name.load(received).dump(force=True))


def _octets(value: core.OctetString) -> bytes:
    # .native merges the chunks of a BER constructed OCTET STRING.
    native = value.native
    if not isinstance(native, bytes):
        raise DecodeError("an OCTET STRING", type(native).__name__)
    return native


def names_equal(first: bytes, second: bytes) -> bool:
    """Compare two DER Names as RFC 5280 §7.1 does (case and space insensitive)."""
    if first == second:
        return True
    try:
        return bool(x509.Name.load(first) == x509.Name.load(second))
    except Exception:
        return False


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return first[:120]

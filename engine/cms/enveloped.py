"""CMS EnvelopedData (RFC 5652 §6.1) and AuthEnvelopedData (RFC 5083 §2.1), built and
parsed whole.

RFC 5652 §6 (EnvelopedData, KeyTransRecipientInfo, KeyAgreeRecipientInfo),
RFC 5083 (AuthEnvelopedData), RFC 5084 (GCMParameters), RFC 4055 (RSAES-OAEP
parameters) and RFC 5753 §7.2 (ECC-CMS-SharedInfo). The structures here carry
bytes and dotted OIDs only; choosing algorithms and doing cryptography is the
business of :mod:`engine.smime.encryption` and :mod:`engine.smime.decryption`.
Who can open a message is :mod:`engine.cms.recipients` and
:mod:`engine.cms.key_agreement`, the content cipher's parameters
:mod:`engine.cms.parameters` (GCMParameters, RFC 5084 §3.2).

Parsing accepts BER (indefinite lengths, constructed OCTET STRINGs) as real clients
emit it; building always produces DER. A large content is let go level by level
(:class:`Handover`), so it is never held more than about three times at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Generic, TypeVar

from asn1crypto import cms, core

from engine.cms.algorithms import RSA_ENCRYPTION, RSAES_OAEP
from engine.cms.codec import constant, frozen, octets
from engine.cms.content_types import (
    OID_AUTH_ENVELOPED_DATA,
    OID_COMPRESSED_DATA,
    OID_DATA,
    OID_ENVELOPED_DATA,
    OID_SIGNED_DATA,
    content_type_name,
)
from engine.cms.identifiers import IssuerSerial, KeyIdentifier, RecipientId, names_equal
from engine.cms.key_agreement import (
    KeyAgreeRecipient,
    RecipientEncryptedKey,
    encode_ecc_cms_shared_info,
)
from engine.cms.parameters import (
    OaepParameters,
    content_encryption_algorithm,
    content_parameters,
)
from engine.cms.recipients import (
    KeyTransRecipient,
    OtherRecipient,
    Recipient,
    parse_recipient,
    recipient_info,
)
from engine.errors import DecodeError, InputError, SmimeError, describe_bytes

# An EnvelopedMessage's parts and the content types it names, re-exported for the code
# that encrypts and decrypts (one import for the whole structure).
__all__ = [
    "AUTH_ENVELOPED_DATA",
    "COMPRESSED_DATA",
    "DATA",
    "ENVELOPED_DATA",
    "RSAES_OAEP",
    "RSAES_PKCS1_V1_5",
    "SIGNED_DATA",
    "EnvelopedMessage",
    "Handover",
    "IssuerSerial",
    "KeyAgreeRecipient",
    "KeyIdentifier",
    "KeyTransRecipient",
    "OaepParameters",
    "OtherRecipient",
    "Recipient",
    "RecipientEncryptedKey",
    "RecipientId",
    "decode_enveloped",
    "decode_enveloped_from",
    "encode_ecc_cms_shared_info",
    "encode_enveloped",
    "encode_enveloped_from",
    "names_equal",
]

# The content types and key-transport OIDs under the names the envelope code uses.
DATA = OID_DATA
SIGNED_DATA = OID_SIGNED_DATA
ENVELOPED_DATA = OID_ENVELOPED_DATA
AUTH_ENVELOPED_DATA = OID_AUTH_ENVELOPED_DATA
COMPRESSED_DATA = OID_COMPRESSED_DATA
RSAES_PKCS1_V1_5 = RSA_ENCRYPTION

_T = TypeVar("_T")


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


# --- building ---------------------------------------------------------------------------------


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
        cms.RecipientInfos([recipient_info(recipient) for recipient in message.recipients])
    )
    version = constant(
        cms.CMSVersion, "v0" if authenticated else _enveloped_version(message.recipients)
    )
    mac = message.mac or b""
    encrypted = cms.EncryptedContentInfo(
        {
            "content_type": constant(cms.ContentType, message.content_type),
            "content_encryption_algorithm": content_encryption_algorithm(
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


def _enveloped_version(recipients: Sequence[Recipient]) -> str:
    # RFC 5652 §6.1: v0 when every RecipientInfo is v0 (KTRI by issuerAndSerialNumber),
    # else v2 (no originatorInfo, no unprotectedAttrs, no pwri/ori here).
    plain = all(
        isinstance(r, KeyTransRecipient) and isinstance(r.rid, IssuerSerial) for r in recipients
    )
    return "v0" if plain else "v2"


# --- parsing ----------------------------------------------------------------------------------


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
    iv, icv_length = content_parameters(algorithm_oid, params_der)
    inner_type = content_info["content_type"].dotted
    encrypted = content_info["encrypted_content"]
    del content_info  # ``encrypted`` holds its own copy of the octets
    encrypted_content = b"" if isinstance(encrypted, core.Void) else octets(encrypted)
    del encrypted
    recipients = tuple(parse_recipient(ri) for ri in recipient_infos)
    mac: bytes | None = None
    auth_attributes: bytes | None = None
    if mac_value is not None:
        mac = octets(mac_value)
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


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return first[:120]

"""What an S/MIME entity is (RFC 8551 §3.2, §3.5; RFC 3156 §4, §5 for PGP/MIME).

By its media type and ``smime-type`` parameter, legacy ``x-pkcs7-*`` types and ``.p7m``
file names included, and by the CMS content type itself when the parameter is missing.
"""

from __future__ import annotations

import enum

from engine.cms.content_types import (
    OID_AUTH_ENVELOPED_DATA,
    OID_ENVELOPED_DATA,
    OID_SIGNED_DATA,
    content_info_type,
)
from engine.errors import InputError
from engine.smime.entity import header_block
from engine.smime.pkcs7 import PKCS7_MIME_TYPES, pkcs7_payload


class EntityKind(enum.Enum):
    """What an S/MIME entity is (RFC 8551 §3.2, §3.5)."""

    SIGNED_MULTIPART = "signed-multipart"
    SIGNED_OPAQUE = "signed-opaque"
    ENVELOPED = "enveloped"
    AUTH_ENVELOPED = "auth-enveloped"
    CERTS_ONLY = "certs-only"
    PLAIN = "plain"
    # PGP/MIME (RFC 3156 §4, §5) uses RFC 1847's multipart/signed and multipart/encrypted
    # too: not an S/MIME layer, so content to whatever peels S/MIME layers.
    PGP_SIGNED = "pgp-signed"
    PGP_ENCRYPTED = "pgp-encrypted"


_SMIME_TYPES = {
    "signed-data": EntityKind.SIGNED_OPAQUE,
    "enveloped-data": EntityKind.ENVELOPED,
    "authenveloped-data": EntityKind.AUTH_ENVELOPED,
    "certs-only": EntityKind.CERTS_ONLY,
}


def classify(entity: bytes) -> EntityKind:
    """Say what kind of S/MIME entity this is; legacy ``x-pkcs7-*`` types count too."""
    head = header_block(entity)
    ctype = head.content_type
    if ctype == "multipart/signed":
        protocol = str(head.param("protocol") or "").strip().lower()
        if protocol == "application/pgp-signature":
            return EntityKind.PGP_SIGNED
        return EntityKind.SIGNED_MULTIPART
    if ctype == "multipart/encrypted":
        protocol = str(head.param("protocol") or "").strip().lower()
        if protocol == "application/pgp-encrypted":
            return EntityKind.PGP_ENCRYPTED
        return EntityKind.PLAIN
    filename = head.file_name.lower()
    is_p7m = ctype == "application/octet-stream" and filename.endswith(".p7m")  # RFC 8551 §3.2.2
    if ctype not in PKCS7_MIME_TYPES and not is_p7m:
        return EntityKind.PLAIN
    smime_type = str(head.param("smime-type") or "").strip().lower()
    if smime_type in _SMIME_TYPES:
        return _SMIME_TYPES[smime_type]
    # No (or an unknown) smime-type: look at the CMS content type itself.
    oid = content_info_type(pkcs7_payload(entity))
    kinds = {
        OID_SIGNED_DATA: EntityKind.SIGNED_OPAQUE,
        OID_ENVELOPED_DATA: EntityKind.ENVELOPED,
        OID_AUTH_ENVELOPED_DATA: EntityKind.AUTH_ENVELOPED,
    }
    if oid not in kinds:
        raise InputError("a signed, enveloped or authenticated-enveloped CMS content", oid)
    return kinds[oid]

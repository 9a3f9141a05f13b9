"""CMS content types (RFC 5652 §3 ContentInfo, §4-§9; RFC 5083 §1; RFC 3274 §1.1).

The object identifiers of every content type, owned here because every CMS module
names some of them, their names for messages, and reading the contentType of a
ContentInfo without parsing its content.
"""

from __future__ import annotations

from asn1crypto import cms

from engine.cms.codec import decode

OID_DATA = "1.2.840.113549.1.7.1"
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_ENVELOPED_DATA = "1.2.840.113549.1.7.3"
OID_SIGNED_AND_ENVELOPED_DATA = "1.2.840.113549.1.7.4"
OID_DIGESTED_DATA = "1.2.840.113549.1.7.5"
OID_ENCRYPTED_DATA = "1.2.840.113549.1.7.6"
OID_AUTHENTICATED_DATA = "1.2.840.113549.1.9.16.1.2"
OID_COMPRESSED_DATA = "1.2.840.113549.1.9.16.1.9"
OID_AUTH_ENVELOPED_DATA = "1.2.840.113549.1.9.16.1.23"

_CONTENT_TYPE_NAMES = {
    OID_DATA: "Data",
    OID_SIGNED_DATA: "SignedData",
    OID_ENVELOPED_DATA: "EnvelopedData",
    OID_SIGNED_AND_ENVELOPED_DATA: "SignedAndEnvelopedData",
    OID_DIGESTED_DATA: "DigestedData",
    OID_ENCRYPTED_DATA: "EncryptedData",
    OID_AUTHENTICATED_DATA: "AuthenticatedData",
    OID_COMPRESSED_DATA: "CompressedData",
    OID_AUTH_ENVELOPED_DATA: "AuthEnvelopedData",
}


def content_type_name(oid: str) -> str:
    """A readable name for a CMS content type OID, for messages."""
    name = _CONTENT_TYPE_NAMES.get(oid)
    return f"{name} ({oid})" if name else oid


def content_info_type(der: bytes) -> str:
    """The dotted contentType OID of a CMS ContentInfo (RFC 5652 §3)."""

    def parse() -> str:
        info = cms.ContentInfo.load(der)
        return str(info["content_type"].dotted)

    return decode("a DER CMS ContentInfo", der, parse)

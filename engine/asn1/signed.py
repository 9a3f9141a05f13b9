"""CMS SignedData (RFC 5652 §5) and the S/MIME signed attributes (RFC 8551 §2.5).

Typed build and parse over asn1crypto: the rest of the engine gets plain
dataclasses, bytes, ints and dotted OIDs, never an asn1crypto object.
"""

from __future__ import annotations

from asn1crypto import cms

from engine.errors import DecodeError
from engine.keys import describe_bytes


def content_info_type(der: bytes) -> str:
    """The dotted contentType OID of a CMS ContentInfo (RFC 5652 §3)."""
    try:
        info = cms.ContentInfo.load(der)
        return str(info["content_type"].dotted)
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise DecodeError("a DER CMS ContentInfo", describe_bytes(der)) from exc

"""Recognize container formats by their ASN.1 structure."""

from __future__ import annotations

from asn1crypto import pkcs12


def is_pfx(data: bytes) -> bool:
    """True when ``data`` parses as a PKCS#12 PFX, version 3 (RFC 7292 §4)."""
    try:
        pfx = pkcs12.Pfx.load(data)
        return bool(pfx["version"].native == "v3" and pfx["auth_safe"]["content_type"].native)
    except Exception:  # asn1crypto raises ValueError, TypeError, KeyError on garbage
        return False


def name_text(der: bytes) -> str:
    """A readable form of a DER-encoded X.501 Name, or its hex when it does not parse."""
    from asn1crypto import x509 as asn1_x509

    try:
        return str(asn1_x509.Name.load(der).human_friendly)
    except Exception:  # asn1crypto raises ValueError, TypeError on garbage
        return der.hex()

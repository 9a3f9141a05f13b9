"""X.509 version 1 certificates (RFC 5280 §4.1), which cryptography cannot build.

cryptography's CertificateBuilder always writes version 3. A v1 certificate
(no extensions at all) is what pre-SP1 Exchange KMS issued, so negative
scenarios need one: the TBSCertificate is encoded here with asn1crypto and
signed by the caller with cryptography.
"""

from __future__ import annotations

import datetime as dt

from asn1crypto import algos, core, keys, x509

from engine.cms.algorithms import SIGNATURE_ALGORITHMS
from engine.errors import DecodeError

# The algorithm names asn1crypto knows, keyed by the signature algorithm OID.
_SIGNATURE_ALGORITHMS = {
    oid: spec.asn1crypto for oid, spec in SIGNATURE_ALGORITHMS.items() if spec.asn1crypto
}


def signature_algorithm_der(oid: str) -> bytes:
    """The DER AlgorithmIdentifier for a signature algorithm OID (RFC 4055 / RFC 5758)."""
    return bytes(algos.SignedDigestAlgorithm({"algorithm": _SIGNATURE_ALGORITHMS[oid]}).dump())


def v1_tbs_certificate(
    *,
    serial_number: int,
    signature_algorithm_oid: str,
    issuer_der: bytes,
    subject_der: bytes,
    not_before: dt.datetime,
    not_after: dt.datetime,
    public_key_der: bytes,
) -> bytes:
    """DER of a version 1 TBSCertificate: no unique IDs, no extensions (RFC 5280 §4.1.2.1)."""
    tbs = x509.TbsCertificate(
        {
            "version": "v1",
            "serial_number": serial_number,
            "signature": algos.SignedDigestAlgorithm.load(
                signature_algorithm_der(signature_algorithm_oid)
            ),
            "issuer": x509.Name.load(issuer_der),
            "validity": x509.Validity(
                {"not_before": _time(not_before), "not_after": _time(not_after)}
            ),
            "subject": x509.Name.load(subject_der),
            "subject_public_key_info": keys.PublicKeyInfo.load(public_key_der),
        }
    )
    return bytes(tbs.dump())


def assemble_certificate(tbs_der: bytes, signature_algorithm_oid: str, signature: bytes) -> bytes:
    """DER of a Certificate from its signed TBSCertificate (RFC 5280 §4.1.1)."""
    cert = x509.Certificate(
        {
            "tbs_certificate": x509.TbsCertificate.load(tbs_der),
            "signature_algorithm": algos.SignedDigestAlgorithm.load(
                signature_algorithm_der(signature_algorithm_oid)
            ),
            "signature_value": signature,
        }
    )
    return bytes(cert.dump())


def _time(moment: dt.datetime) -> x509.Time:
    # UTCTime through 2049, GeneralizedTime from 2050 on (RFC 5280 §4.1.2.5).
    moment = moment.astimezone(dt.UTC).replace(microsecond=0)
    if moment.year < 2050:
        return x509.Time(name="utc_time", value=moment)
    return x509.Time(name="general_time", value=moment)


def utf8_string(der: bytes, *, what: str) -> str:
    """The text of a DER UTF8String, such as an SmtpUTF8Mailbox otherName's value (RFC 8398
    §3), which cryptography hands over as raw DER. DecodeError naming ``what`` if it is not."""
    try:
        value = core.UTF8String.load(der, strict=True).native
    except (ValueError, TypeError) as exc:
        raise DecodeError(f"{what} as a DER UTF8String", f"malformed DER ({exc})") from None
    if not isinstance(value, str):
        raise DecodeError(f"{what} as a DER UTF8String", type(value).__name__)
    return value

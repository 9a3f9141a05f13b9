"""Check one SignerInfo: its digest, signed attributes and signature value.

RFC 5652 §5.4 (what is digested and signed), §5.6 (how a recipient checks it) and
§11.1-§11.3 (the contentType, messageDigest and signingTime attributes); the signature
algorithms of RFC 3370 §3.2, RFC 5754 §3, RFC 5758 §3.2 (RSA PKCS#1 v1.5, ECDSA) and
RFC 4056 (RSASSA-PSS, its parameters as RFC 4055 §3.1 gives them). A check says *intact*
or not with its reasons; whether the signer is trusted is
:mod:`engine.smime.verification`'s business.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from engine.cms import signed as asn1
from engine.cms.algorithms import SIGNATURE_ALGORITHMS, DigestAlgorithm, SignatureScheme
from engine.errors import InputError, UnsupportedAlgorithmError

__all__ = ["SignatureCheck", "is_intact", "signature_check"]

# Signature algorithm OIDs seen in SignerInfo (RFC 3370 §3.2, RFC 5754 §3, RFC 5758 §3.2),
# with the hash each names (None: the key's algorithm alone, digestAlgorithm's hash is used).
# (RSASSA-PSS names its hash in its parameters: checked on its own below.)
_RSA_PKCS1_OIDS: dict[str, tuple[str, DigestAlgorithm | None]] = {
    oid: (spec.name, spec.digest)
    for oid, spec in SIGNATURE_ALGORITHMS.items()
    if spec.scheme is SignatureScheme.RSA_PKCS1V15
}
_ECDSA_SIGNATURE_OIDS: dict[str, tuple[str, DigestAlgorithm | None]] = {
    oid: (spec.name, spec.digest)
    for oid, spec in SIGNATURE_ALGORITHMS.items()
    if spec.scheme is SignatureScheme.ECDSA
}


_ATTRIBUTE_NAMES = {
    asn1.OID_CONTENT_TYPE: "contentType",
    asn1.OID_MESSAGE_DIGEST: "messageDigest",
    asn1.OID_SIGNING_TIME: "signingTime",
}


def is_intact(
    info: asn1.SignerInfoData,
    content_type: str,
    content: bytes,
    digest: DigestAlgorithm,
    signer: x509.Certificate,
    check: SignatureCheck,
    reasons: list[str],
) -> bool:
    """Whether ``info`` signs ``content`` with ``signer``'s key; each reason it does not
    is added to ``reasons`` (RFC 5652 §5.4, §5.6, §11)."""
    hasher = hashes.Hash(digest.hash())
    hasher.update(content)
    content_digest = hasher.finalize()
    attributes = info.attributes
    if attributes is None:
        # No signed attributes: the signature is over the content itself (RFC 5652 §5.4).
        if _signature_ok(signer, check, info.signature, (content,)):
            return True
        reasons.append("the signature does not match the content")
        return False
    ok = True
    for oid in attributes.not_single:
        # RFC 5652 §11.1-11.3: one instance, one value; which of two would count is unclear.
        reasons.append(
            f"the {_ATTRIBUTE_NAMES[oid]} attribute is not single-valued ({oid}, RFC 5652 §11)"
        )
        ok = False
    if attributes.message_digest is None:
        reasons.append("the messageDigest attribute is missing (RFC 5652 §11.2)")
        ok = False
    elif attributes.message_digest != content_digest:
        reasons.append("the content's digest differs from the signed messageDigest")
        ok = False
    if attributes.content_type != content_type:
        reasons.append(
            f"the contentType attribute ({attributes.content_type}) differs from the "
            f"encapsulated content type ({content_type}) (RFC 5652 §11.1)"
        )
        ok = False
    if not _signature_ok(signer, check, info.signature, info.signed_der_candidates):
        reasons.append("the signature over the signed attributes does not verify")
        ok = False
    return ok


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SignatureCheck:
    """How to check the signature value with the signer's public key.

    ``named``: each hash the signature algorithm itself names, with what names it
    (empty for rsaEncryption and id-ecPublicKey, which take digestAlgorithm's).
    """

    scheme: SignatureScheme
    hash: DigestAlgorithm
    pss: padding.PSS | None = None
    named: tuple[tuple[str, DigestAlgorithm], ...] = ()


def signature_check(info: asn1.SignerInfoData, digest: DigestAlgorithm) -> SignatureCheck:
    """How ``info``'s signature algorithm is checked, with ``digest`` (its digestAlgorithm)."""
    oid = info.signature_algorithm.oid
    for scheme, known in (
        (SignatureScheme.RSA_PKCS1V15, _RSA_PKCS1_OIDS),
        (SignatureScheme.ECDSA, _ECDSA_SIGNATURE_OIDS),
    ):
        if oid in known:
            name, implied = known[oid]
            named: tuple[tuple[str, DigestAlgorithm], ...] = (
                () if implied is None else ((f"the signature algorithm {name}", implied),)
            )
            return SignatureCheck(scheme=scheme, hash=implied or digest, named=named)
    if oid == asn1.OID_RSASSA_PSS and info.pss is not None:
        # RFC 4056 §2.2 / RFC 4055 §3.1: hash, MGF1 hash and salt from the parameters.
        params = info.pss
        if params.mgf_oid != asn1.OID_MGF1 or params.mgf_hash_oid is None:
            raise UnsupportedAlgorithmError("RSASSA-PSS mask generation function", params.mgf_oid)
        if params.trailer_field != 1:
            raise InputError("RSASSA-PSS trailer field 1", str(params.trailer_field))
        pss_hash = DigestAlgorithm.from_oid(params.hash_oid)
        mgf_hash = DigestAlgorithm.from_oid(params.mgf_hash_oid)
        pss = padding.PSS(mgf=padding.MGF1(mgf_hash.hash()), salt_length=params.salt_length)
        # RFC 4056 §3: the PSS hash is the one that digests the signed attributes, i.e.
        # digestAlgorithm's; RFC 4055 §3.1, RFC 8551 §2.2: MGF1 with that same hash.
        named = (
            ("the RSASSA-PSS hashAlgorithm", pss_hash),
            ("the RSASSA-PSS MGF1 hash", mgf_hash),
        )
        return SignatureCheck(scheme=SignatureScheme.RSA_PSS, hash=pss_hash, pss=pss, named=named)
    raise UnsupportedAlgorithmError("signature algorithm", oid)


def _signature_ok(
    signer: x509.Certificate, check: SignatureCheck, signature: bytes, candidates: Sequence[bytes]
) -> bool:
    try:
        key = signer.public_key()
    except (ValueError, UnsupportedAlgorithm):
        # A key cryptography cannot load (a point off the curve, an unknown curve OID)
        # made no signature that can be checked with it (RFC 5652 §5.6): not intact, a
        # result like any other failed signature, not an error.
        return False
    for data in candidates:
        try:
            if check.scheme is SignatureScheme.ECDSA:
                if not isinstance(key, ec.EllipticCurvePublicKey):
                    return False
                key.verify(signature, data, ec.ECDSA(check.hash.hash()))
            else:
                if not isinstance(key, rsa.RSAPublicKey):
                    return False
                pad = check.pss if check.pss is not None else padding.PKCS1v15()
                key.verify(signature, data, pad, check.hash.hash())
        except (InvalidSignature, ValueError):
            continue
        return True
    return False

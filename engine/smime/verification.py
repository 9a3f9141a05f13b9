"""Verify a signed S/MIME message (RFC 5652 §5.6, RFC 8551 §3.5, RFC 8550).

The result keeps three questions apart: is it *intact* (digest and signature),
is the signer *trusted* (path to an anchor at a time, CRLs), and does the
sender's *address match* the certificate. A bad signature is a result, never
an exception; malformed input is a typed :class:`~engine.errors.InputError`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import typing
from collections.abc import Callable, Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from engine._internal.memo import memoize
from engine.clock import aware
from engine.cms import signed as asn1
from engine.cms.algorithms import (
    SIGNATURE_ALGORITHMS,
    ContentCipher,
    DigestAlgorithm,
    SignatureScheme,
)
from engine.errors import DecodeError, InputError, UnsupportedAlgorithmError
from engine.pki.credential import certificate_emails, certificate_from_der
from engine.pki.purpose import CertificatePurpose
from engine.pki.trust import TrustCache, TrustResult, TrustStatus, validate_certificate
from engine.smime.classification import EntityKind, classify
from engine.smime.message import split_message
from engine.smime.multipart import signed_parts
from engine.smime.pkcs7 import pkcs7_payload
from engine.smime.sender import AddressMatch, check_sender, parse_mailbox

__all__ = [
    "AddressMatch",
    "Integrity",
    "VerificationResult",
    "VerificationStatus",
    "Verifier",
    "verify",
]


class Integrity(enum.Enum):
    """Is the message as its signer signed it (RFC 5652 §5.4-§5.6)? The status word
    of a signature that is not intact says why."""

    INTACT = "intact"
    TAMPERED = "tampered"  # the digest or the signature does not verify, or no signer
    # The signature algorithm hashes with another function than digestAlgorithm names
    # (sha1WithRSAEncryption over a sha256 digest, RSASSA-PSS with another hash or MGF1
    # hash): RFC 5652 §5.4-§5.6 sign and check with digestAlgorithm's hash alone.
    ALGORITHM_MISMATCH = "algorithm-mismatch"
    # A multipart/signed that is not exactly two body parts closed by its close delimiter
    # (RFC 1847 §2.1): a third part ("UPDATE: pay to account ...") is signed by nobody.
    MALFORMED_MULTIPART = "malformed-multipart"


class VerificationStatus(enum.StrEnum):
    """The one word for a verification: ``valid``, else why not, from the first check that
    fails in the order integrity, trust, address (as pyHanko's intact / valid / trusted
    split). The value is the word ``verify`` prints; a ``StrEnum``, so it also equals that
    word."""

    VALID = "valid"
    # Not intact (RFC 5652 §5.4-§5.6, RFC 1847 §2.1): one per Integrity word.
    TAMPERED = "tampered"
    ALGORITHM_MISMATCH = "algorithm-mismatch"
    MALFORMED_MULTIPART = "malformed-multipart"
    # Intact but not trusted (RFC 5280 §6): one per TrustStatus word.
    UNTRUSTED_ISSUER = "untrusted-issuer"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    REVOKED = "revoked"
    NAME_CONSTRAINTS = "name-constraints"
    INVALID = "invalid"
    # Intact and trusted, but a From:/Sender: mailbox is not the signer's (RFC 8550 §3).
    ADDRESS_MISMATCH = "address-mismatch"


def _integrity_status(integrity: Integrity) -> VerificationStatus:
    match integrity:
        case Integrity.INTACT:
            return VerificationStatus.VALID
        case Integrity.TAMPERED:
            return VerificationStatus.TAMPERED
        case Integrity.ALGORITHM_MISMATCH:
            return VerificationStatus.ALGORITHM_MISMATCH
        case Integrity.MALFORMED_MULTIPART:
            return VerificationStatus.MALFORMED_MULTIPART
        case _:
            typing.assert_never(integrity)


def _trust_status(trust: TrustStatus) -> VerificationStatus:
    match trust:
        case TrustStatus.TRUSTED:
            return VerificationStatus.VALID
        case TrustStatus.UNTRUSTED_ISSUER:
            return VerificationStatus.UNTRUSTED_ISSUER
        case TrustStatus.EXPIRED:
            return VerificationStatus.EXPIRED
        case TrustStatus.NOT_YET_VALID:
            return VerificationStatus.NOT_YET_VALID
        case TrustStatus.REVOKED:
            return VerificationStatus.REVOKED
        case TrustStatus.NAME_CONSTRAINTS:
            return VerificationStatus.NAME_CONSTRAINTS
        case TrustStatus.INVALID:
            return VerificationStatus.INVALID
        case _:
            typing.assert_never(trust)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class VerificationResult:
    intact: bool
    integrity: Integrity  # why not intact; INTACT exactly when ``intact``
    trust: TrustResult
    address_match: AddressMatch
    signer: x509.Certificate | None
    certificates: tuple[x509.Certificate, ...]
    digest: DigestAlgorithm
    scheme: SignatureScheme
    # Every hash function the signature uses: digestAlgorithm's first, then any other
    # that the signature algorithm or its RSASSA-PSS parameters (hash, MGF1) name. A
    # policy judges each of them (RFC 8551 §2.1).
    hashes: tuple[DigestAlgorithm, ...]
    signing_time: dt.datetime | None
    capabilities: tuple[ContentCipher, ...]
    capability_oids: tuple[str, ...]
    encryption_certificate: x509.Certificate | None
    content: bytes
    reasons: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.intact is not (self.integrity is Integrity.INTACT):
            raise ValueError(f"intact={self.intact} with integrity {self.integrity.value}")

    @property
    def trusted(self) -> bool:
        return self.trust.trusted

    @property
    def status(self) -> VerificationStatus:
        """``VALID``, else the first failing check: an integrity status (``TAMPERED``,
        ``ALGORITHM_MISMATCH``, ``MALFORMED_MULTIPART``), a trust status
        (``UNTRUSTED_ISSUER``, ``EXPIRED``, ``REVOKED``, ``NAME_CONSTRAINTS``, ...) or
        ``ADDRESS_MISMATCH``."""
        if not self.intact:
            return _integrity_status(self.integrity)
        if not self.trust.trusted:
            return _trust_status(self.trust.status)
        if self.address_match is AddressMatch.MISMATCH:
            return VerificationStatus.ADDRESS_MISMATCH
        return VerificationStatus.VALID


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


def verify(
    message: bytes,
    *,
    anchors: Sequence[x509.Certificate],
    at: dt.datetime,
    crls: Sequence[x509.CertificateRevocationList] = (),
    sender: str | None = None,
    trust_cache: TrustCache | None = None,
    headers: Sequence[tuple[str, str]] | None = None,
) -> VerificationResult:
    """Verify a signed message (whole RFC 5322 message or bare MIME entity).

    Accepts detached multipart/signed and opaque pkcs7-mime signed-data,
    including the legacy ``x-pkcs7-*`` types, LF-only stored messages and BER.
    ``sender`` overrides the From:/Sender: address for the address check;
    ``headers`` gives the header fields that name the sender when the signed
    entity is not the whole message (a signed layer inside an encrypted one is
    judged by the outer message's From:/Sender:, RFC 8551 §3.7).
    ``trust_cache`` shares path validation results across a batch of messages;
    for a batch checked against the same anchors, CRLs and time, :class:`Verifier`
    is cheaper still.
    """
    at = aware(at, what="verification time")
    validate = validate_certificate if trust_cache is None else trust_cache.validate

    def trust(ders: tuple[bytes, ...], index: int, certificates: _Certificates) -> TrustResult:
        return validate(
            certificates[index],
            intermediates=_others(ders, index, certificates),
            anchors=anchors,
            at=at,
            crls=crls,
            purpose=CertificatePurpose.SIGNING,
        )

    return _verify(message, sender=sender, trust=trust, outer=headers)


class Verifier:
    """Verifies many messages against one set of anchors and CRLs at one time.

    What a mailbox repeats is done once: the anchors and CRLs are fixed when the
    verifier is made (copied, so later changes to the caller's lists cannot make a
    remembered answer stale), and each signer's path validation is remembered under
    the DER of the signer and the other carried certificates, for up to
    ``cache_size`` distinct signers and chains.
    """

    def __init__(
        self,
        *,
        anchors: Sequence[x509.Certificate],
        at: dt.datetime,
        crls: Sequence[x509.CertificateRevocationList] = (),
        sender: str | None = None,
        cache_size: int = 1024,
    ) -> None:
        self._trust = TrustCache(cache_size)  # InputError for a size below 1
        self._anchors = tuple(anchors)
        self._crls = tuple(crls)
        self._at = aware(at, what="verification time")
        if sender is not None:
            parse_mailbox(sender, what="the sender's address")  # refused once, not per message
        self._sender = sender

    def verify(self, message: bytes) -> VerificationResult:
        """The same result as :func:`verify` with this verifier's anchors, CRLs, time
        and sender."""
        return _verify(message, sender=self._sender, trust=self._trust_of)

    def _trust_of(
        self, ders: tuple[bytes, ...], index: int, certificates: _Certificates
    ) -> TrustResult:
        signer = ders[index]
        # The anchors, CRLs, time and purpose are the verifier's own: the DER names the rest.
        return self._trust.remember(
            (signer, tuple(d for d in ders if d != signer)),
            lambda: validate_certificate(
                certificates[index],
                intermediates=_others(ders, index, certificates),
                anchors=self._anchors,
                at=self._at,
                crls=self._crls,
                purpose=CertificatePurpose.SIGNING,
            ),
        )


_Certificates = tuple[x509.Certificate, ...]
# Path validation of the carried certificate at an index, given all carried DER.
_TrustOf = Callable[[tuple[bytes, ...], int, _Certificates], TrustResult]


def _others(
    ders: tuple[bytes, ...], index: int, certificates: _Certificates
) -> list[x509.Certificate]:
    """Every carried certificate but the signer (and its copies): the candidate issuers."""
    signer = ders[index]
    return [c for d, c in zip(ders, certificates, strict=True) if d != signer]


def _verify(
    message: bytes,
    *,
    sender: str | None,
    trust: _TrustOf,
    outer: Sequence[tuple[str, str]] | None = None,
) -> VerificationResult:
    headers, entity = split_message(message)
    kind = classify(entity)
    detached: bytes | None = None
    structure: tuple[str, ...] = ()  # why a multipart/signed is not exactly two parts
    as_received: bytes | None = None  # the first part before canonicalization, if different
    if kind is EntityKind.SIGNED_MULTIPART:
        parts = signed_parts(entity)
        detached, der, structure = parts.content, parts.signature, parts.problems
        if parts.raw and parts.raw != parts.content:
            as_received = parts.raw
    elif kind is EntityKind.SIGNED_OPAQUE:
        der = pkcs7_payload(entity)
    else:
        raise InputError(
            "a signed message (multipart/signed or application/pkcs7-mime signed-data)",
            f"a {kind.value} entity",
        )
    parsed = asn1.parse_signed_data(der)
    if detached is not None:
        content = detached
    elif parsed.content is not None:
        content = parsed.content
    else:
        raise InputError("signed-data with encapsulated content", "a detached signature alone")

    ders = parsed.certificates
    certificates = _load_certificates(ders)
    # Several SignerInfos: judge the first whose certificate is carried (RFC 5652 §5.6).
    info, index = next(
        (
            (i, k)
            for i in parsed.signers
            if (k := _position(i.signer, ders, certificates)) is not None
        ),
        (parsed.signers[0], None),
    )
    digest = DigestAlgorithm.from_oid(info.digest_oid)
    check = _signature_check(info, digest)
    reasons: list[str] = list(structure)
    attributes = info.attributes
    # RFC 5652 §5.4-§5.6: the signature is made and checked over a digest computed with
    # digestAlgorithm. A signature algorithm naming another hash (sha1WithRSAEncryption
    # beside sha256) signs with a function the SignerInfo does not declare: a SHA-1
    # signature passing as SHA-256 to anyone judging digestAlgorithm. Never intact.
    disagreeing = [f"{what} uses {used.value}" for what, used in check.named if used != digest]
    if disagreeing:
        reasons.append(
            f"{'; '.join(disagreeing)}, but digestAlgorithm is {digest.value}: the signature "
            "must use the digest algorithm's hash (RFC 5652 §5.4, §5.6; RFC 8551 §2.1)"
        )

    if index is None:
        signer = None
        integrity = Integrity.ALGORITHM_MISMATCH if disagreeing else Integrity.TAMPERED
        reasons.append("the signer's certificate is not in the message")
        trust_result = TrustResult(
            status=TrustStatus.INVALID,
            chain=(),
            reason="no signer certificate to validate",
            revocation_checked=False,
        )
    else:
        signer = certificates[index]
        if disagreeing:
            integrity = Integrity.ALGORITHM_MISMATCH
        else:
            checked: list[str] = []
            intact = _intact(info, parsed.content_type, content, digest, signer, check, checked)
            # RFC 8551 §3.1.1 has the signer sign the canonical (CRLF) form, which is what
            # is checked first; a signer that signed the part's bytes as they are (LF-only,
            # ``openssl cms -sign -binary``, some NSS builds) is checked on exactly those
            # bytes, as ``openssl cms -verify -binary`` does. Either way the content handed
            # back is the bytes the signature covers.
            if (
                not intact
                and as_received is not None
                and _intact(info, parsed.content_type, as_received, digest, signer, check, [])
            ):
                intact, content, checked = True, as_received, []
            reasons.extend(checked)
            integrity = Integrity.INTACT if intact else Integrity.TAMPERED
        trust_result = trust(ders, index, certificates)
        if not trust_result.trusted:
            reasons.append(f"signer not trusted: {trust_result.reason}")

    if structure:
        # The first failing check names the status: the message's shape comes first.
        integrity = Integrity.MALFORMED_MULTIPART
    emails = None if index is None else _certificate_emails(ders[index])
    address = check_sender(emails, headers if outer is None else outer, sender)
    if address.reason is not None:
        reasons.append(address.reason)
    capabilities = () if attributes is None else attributes.capabilities
    return VerificationResult(
        intact=integrity is Integrity.INTACT,
        integrity=integrity,
        trust=trust_result,
        address_match=address.match,
        signer=signer,
        certificates=certificates,
        digest=digest,
        scheme=check.scheme,
        hashes=tuple(dict.fromkeys((digest, *(used for _, used in check.named)))),
        signing_time=None if attributes is None else attributes.signing_time,
        capabilities=_known_ciphers(capabilities),
        capability_oids=tuple(cap.oid for cap in capabilities),
        encryption_certificate=_encryption_certificate(attributes, ders, certificates),
        content=content,
        reasons=tuple(reasons),
    )


# --- intact: digest and signature (RFC 5652 §5.6) -------------------------------


_ATTRIBUTE_NAMES = {
    asn1.OID_CONTENT_TYPE: "contentType",
    asn1.OID_MESSAGE_DIGEST: "messageDigest",
    asn1.OID_SIGNING_TIME: "signingTime",
}


def _intact(
    info: asn1.SignerInfoData,
    content_type: str,
    content: bytes,
    digest: DigestAlgorithm,
    signer: x509.Certificate,
    check: _Check,
    reasons: list[str],
) -> bool:
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
class _Check:
    """How to check the signature value with the signer's public key.

    ``named``: each hash the signature algorithm itself names, with what names it
    (empty for rsaEncryption and id-ecPublicKey, which take digestAlgorithm's).
    """

    scheme: SignatureScheme
    hash: DigestAlgorithm
    pss: padding.PSS | None = None
    named: tuple[tuple[str, DigestAlgorithm], ...] = ()


def _signature_check(info: asn1.SignerInfoData, digest: DigestAlgorithm) -> _Check:
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
            return _Check(scheme=scheme, hash=implied or digest, named=named)
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
        return _Check(scheme=SignatureScheme.RSA_PSS, hash=pss_hash, pss=pss, named=named)
    raise UnsupportedAlgorithmError("signature algorithm", oid)


def _signature_ok(
    signer: x509.Certificate, check: _Check, signature: bytes, candidates: Sequence[bytes]
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


# --- certificates ------------------------------------------------------------------


def _load_certificates(ders: Sequence[bytes]) -> tuple[x509.Certificate, ...]:
    certificates = []
    for index, der in enumerate(ders):
        try:
            certificates.append(_certificate(der))
        except DecodeError as exc:
            where = f"an X.509 certificate (certificate {index + 1} in the message)"
            raise DecodeError(where, exc.found) from None
    return tuple(certificates)


@memoize(maxsize=256, max_bytes=64 * 1024)
def _certificate(der: bytes) -> x509.Certificate:
    # Certificates are immutable: a batch from a few signers loads and reads each one once.
    return certificate_from_der(der)


def _matches(reference: asn1.KeyReference, certificate: x509.Certificate) -> bool:
    if reference.issuer_serial is not None:
        wanted = reference.issuer_serial
        if certificate.serial_number != wanted.serial:
            return False
        issuer = asn1.IssuerSerial.of(certificate).issuer  # cached per certificate
        return issuer == wanted.issuer or _same_name(issuer, wanted.issuer)
    if reference.subject_key_identifier is not None:
        try:
            ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        except (x509.ExtensionNotFound, ValueError):
            return False
        return ski.value.digest == reference.subject_key_identifier
    return False


def _same_name(left: bytes, right: bytes) -> bool:
    # Equal names encoded differently, e.g. PrintableString vs UTF8String (RFC 5280 §7.1).
    try:
        return asn1.same_name(left, right)
    except DecodeError:
        return False


def _find(
    reference: asn1.KeyReference,
    ders: tuple[bytes, ...],
    certificates: Sequence[x509.Certificate],
) -> x509.Certificate | None:
    position = _position(reference, ders, certificates)
    return None if position is None else certificates[position]


def _position(
    reference: asn1.KeyReference,
    ders: tuple[bytes, ...],
    certificates: Sequence[x509.Certificate],
) -> int | None:
    """The index in ``certificates`` (loaded from ``ders``) of the one ``reference`` names."""
    if sum(map(len, ders)) > _MAX_CACHED_CERTIFICATES:
        return _search(reference, certificates)
    return _cached_position(reference, ders)


def _search(reference: asn1.KeyReference, certificates: Sequence[x509.Certificate]) -> int | None:
    return next((i for i, c in enumerate(certificates) if _matches(reference, c)), None)


_MAX_CACHED_CERTIFICATES = 64 * 1024


@functools.lru_cache(maxsize=256)
def _cached_position(reference: asn1.KeyReference, ders: tuple[bytes, ...]) -> int | None:
    # Keyed on immutable values, a frozen reference and the carried certificates' DER
    # (cheap to hash, unlike x509.Certificate): a mailbox names the same few signers.
    return _search(reference, _load_certificates(ders))


def _encryption_certificate(
    attributes: asn1.SignedAttributes | None,
    ders: tuple[bytes, ...],
    certificates: Sequence[x509.Certificate],
) -> x509.Certificate | None:
    """The certificate named by SMIMEEncryptionKeyPreference (RFC 8551 §2.5.3) or,
    failing that, by Microsoft's 1.3.6.1.4.1.311.16.4 attribute."""
    if attributes is None:
        return None
    if attributes.encryption_key_preference is not None:
        found = _find(attributes.encryption_key_preference, ders, certificates)
        if found is not None:
            return found
    if attributes.microsoft_encryption_key is not None:
        reference = asn1.KeyReference(issuer_serial=attributes.microsoft_encryption_key)
        return _find(reference, ders, certificates)
    return None


@functools.lru_cache(maxsize=256)
def _known_ciphers(capabilities: tuple[asn1.Capability, ...]) -> tuple[ContentCipher, ...]:
    known: list[ContentCipher] = []
    for capability in capabilities:
        try:
            known.append(ContentCipher.from_oid(capability.oid))
        except UnsupportedAlgorithmError:
            continue  # key transports and unknown ciphers stay in capability_oids
    return tuple(known)


# --- address match (RFC 8550 §3): engine.smime.sender holds the one rule -------------------


@memoize(maxsize=256, max_bytes=64 * 1024)
def _certificate_emails(der: bytes) -> tuple[str, ...]:
    # Keyed on the DER: hashing bytes is cheaper than hashing an x509.Certificate.
    return certificate_emails(_certificate(der))

"""Verify a signed S/MIME message (RFC 5652 §5.6, RFC 8551 §3.5, RFC 8550).

:func:`verify` checks one message; a :class:`Verifier` checks a batch against one set
of anchors and CRLs at one time and owns what the batch repeats (path validations).
Both find the signer among the carried certificates (RFC 5652 §5.3), check the
SignerInfo (:mod:`engine.smime.signature`), validate the signer's path (RFC 5280 §6)
and apply the sender rule (RFC 8550 §3, :mod:`engine.smime.sender`), and return a
:class:`~engine.smime.verification_result.VerificationResult`. A bad signature is a
result, never an exception; malformed input is a typed :class:`~engine.errors.InputError`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from cryptography import x509

from engine._internal.memo import Lru, memoize
from engine.clock import aware
from engine.cms import signed as asn1
from engine.cms.algorithms import ContentCipher, DigestAlgorithm, cipher_mode
from engine.errors import DecodeError, InputError
from engine.pki.credential import certificate_emails, certificate_from_der
from engine.pki.key_usage import CertificatePurpose
from engine.pki.trust import TrustCache, TrustResult, TrustStatus, validate_certificate
from engine.smime.classification import EntityKind, classify
from engine.smime.message import split_message
from engine.smime.multipart import signed_parts
from engine.smime.pkcs7 import pkcs7_payload
from engine.smime.sender import check_sender, parse_mailbox
from engine.smime.signature import is_intact, signature_check
from engine.smime.verification_result import Integrity, VerificationResult, VerificationStatus

# The result types are re-exported: what verify() returns is named where verify() is.
__all__ = ["Integrity", "VerificationResult", "VerificationStatus", "Verifier", "verify"]


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

    return _verify(message, sender=sender, trust=trust, recall=_Recall(None), outer=headers)


class Verifier:
    """Verifies many messages against one set of anchors and CRLs at one time.

    What a mailbox repeats is done once: the anchors and CRLs are fixed when the
    verifier is made (copied, so later changes to the caller's lists cannot make a
    remembered answer stale), and each signer's path validation is remembered under
    the DER of the signer and the other carried certificates, as are where its
    certificate stands among them and its mail addresses, for up to ``cache_size``
    distinct signers and chains. The verifier owns these; :func:`verify` keeps none.
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
        self._recall = _Recall(cache_size)
        self._anchors = tuple(anchors)
        self._crls = tuple(crls)
        self._at = aware(at, what="verification time")
        if sender is not None:
            parse_mailbox(sender, what="the sender's address")  # refused once, not per message
        self._sender = sender

    def verify(self, message: bytes) -> VerificationResult:
        """The same result as :func:`verify` with this verifier's anchors, CRLs, time
        and sender."""
        return _verify(message, sender=self._sender, trust=self._trust_of, recall=self._recall)

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
    recall: _Recall,
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
            if (k := recall.position(i.signer, ders, certificates)) is not None
        ),
        (parsed.signers[0], None),
    )
    digest = DigestAlgorithm.from_oid(info.digest_oid)
    check = signature_check(info, digest)
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
            intact = is_intact(info, parsed.content_type, content, digest, signer, check, checked)
            # RFC 8551 §3.1.1 has the signer sign the canonical (CRLF) form, which is what
            # is checked first; a signer that signed the part's bytes as they are (LF-only,
            # ``openssl cms -sign -binary``, some NSS builds) is checked on exactly those
            # bytes, as ``openssl cms -verify -binary`` does. Either way the content handed
            # back is the bytes the signature covers.
            if (
                not intact
                and as_received is not None
                and is_intact(info, parsed.content_type, as_received, digest, signer, check, [])
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
    emails = None if index is None else recall.emails(ders[index], certificates[index])
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
        encryption_certificate=_encryption_certificate(attributes, ders, certificates, recall),
        content=content,
        reasons=tuple(reasons),
    )


# --- the carried certificates (RFC 5652 §5.1 certificates, §5.3 sid) ------------------------


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
    # Every message of a mailbox carries its signer's few certificates again: each is read
    # whole once (and cryptography keeps what it parsed of it, its key and extensions), for
    # verify() as for a Verifier. A pure function of the DER, bounded (docs/architecture.md).
    return certificate_from_der(der)


class _Recall:
    """What a :class:`Verifier` remembers of its batch's carried certificates besides their
    paths: where a signer's certificate stands among them (RFC 5652 §5.3) and its mail
    addresses (RFC 8550 §3), for up to ``size`` distinct sets and signers; a mailbox names
    the same few. ``_Recall(None)``, one :func:`verify`'s, remembers nothing."""

    def __init__(self, size: int | None) -> None:
        self._positions: _Positions | None = None if size is None else Lru(size)
        self._emails: Lru[bytes, tuple[str, ...]] | None = None if size is None else Lru(size)

    def position(
        self,
        reference: asn1.KeyReference,
        ders: tuple[bytes, ...],
        certificates: Sequence[x509.Certificate],
    ) -> int | None:
        """The index in ``certificates`` (read from ``ders``) of the one ``reference`` names."""
        if self._positions is None or sum(map(len, ders)) > _MAX_RECALLED:
            return _position(reference, certificates)
        key = (reference, ders)  # immutable: a frozen reference and the DER bytes
        return self._positions.get_or(key, lambda: (_position(reference, certificates),))[0]

    def emails(self, der: bytes, certificate: x509.Certificate) -> tuple[str, ...]:
        """The certificate's mail addresses (read from ``der``)."""
        if self._emails is None or len(der) > _MAX_RECALLED:
            return certificate_emails(certificate)
        return self._emails.get_or(der, lambda: certificate_emails(certificate))


_MAX_RECALLED = 64 * 1024  # carried certificates longer in all are looked through anew
_Positions = Lru[tuple[asn1.KeyReference, tuple[bytes, ...]], tuple[int | None]]


def _position(reference: asn1.KeyReference, certificates: Sequence[x509.Certificate]) -> int | None:
    """The index in ``certificates`` of the one ``reference`` names (RFC 5652 §5.3)."""
    return next((i for i, c in enumerate(certificates) if _matches(reference, c)), None)


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


def _encryption_certificate(
    attributes: asn1.SignedAttributes | None,
    ders: tuple[bytes, ...],
    certificates: Sequence[x509.Certificate],
    recall: _Recall,
) -> x509.Certificate | None:
    """The certificate named by SMIMEEncryptionKeyPreference (RFC 8551 §2.5.3) or,
    failing that, by Microsoft's 1.3.6.1.4.1.311.16.4 attribute."""
    if attributes is None:
        return None
    references = []
    if attributes.encryption_key_preference is not None:
        references.append(attributes.encryption_key_preference)
    if attributes.microsoft_encryption_key is not None:
        references.append(asn1.KeyReference(issuer_serial=attributes.microsoft_encryption_key))
    found = (recall.position(reference, ders, certificates) for reference in references)
    return next((certificates[i] for i in found if i is not None), None)


def _known_ciphers(capabilities: Sequence[asn1.Capability]) -> tuple[ContentCipher, ...]:
    """The content ciphers among SMIMECapabilities (RFC 8551 §2.5.2), in their order; key
    transports and ciphers the registry lacks stay in ``capability_oids`` alone."""
    return tuple(
        ContentCipher.from_oid(c.oid) for c in capabilities if cipher_mode(c.oid) is not None
    )

"""Judge every layer of a message against a policy: signatures, signers, ciphers.

Signed layers: the signature (intact, trusted, address; RFC 5652 §5.6, RFC 8550
§3, §4), the hashes it uses, the announced capabilities (RFC 8551 §2.5.2) and the
signer's certificate. Encrypted layers: the content cipher and each recipient's
key transport or agreement (RFC 8551 §2.3, §2.7); a layer the given credentials
open is judged inside too. Problems are findings, never exceptions; more than
:data:`MAX_DEPTH` nested layers is an :class:`~engine.errors.InputError`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence

from cryptography import x509

from engine._internal.memo import owned
from engine.clock import aware
from engine.cms.algorithms import KEY_TRANSPORTS, ContentCipher, KeyTransport
from engine.cms.enveloped import decode_enveloped
from engine.cms.key_agreement import KeyAgreeRecipient
from engine.cms.recipients import KeyTransRecipient
from engine.errors import (
    DecryptionError,
    InputError,
    NotARecipientError,
    UnsupportedAlgorithmError,
)
from engine.findings import Finding, Severity
from engine.pki.credential import Credential
from engine.pki.trust import TrustCache
from engine.policy.algorithm_checks import (
    content_cipher_findings,
    digest_findings,
    key_transport_findings,
    unauthenticated_finding,
)
from engine.policy.certificate_checks import check_certificate
from engine.policy.document import Policy
from engine.policy.rules import finding
from engine.smime.classification import EntityKind, classify
from engine.smime.decryption import decrypt
from engine.smime.message import split_message
from engine.smime.opening import MAX_DEPTH
from engine.smime.pkcs7 import pkcs7_payload
from engine.smime.sender import AddressMatch
from engine.smime.verification import verify
from engine.smime.verification_result import VerificationResult


def check_message(
    message: bytes,
    policy: Policy,
    *,
    anchors: Sequence[x509.Certificate],
    at: dt.datetime,
    crls: Sequence[x509.CertificateRevocationList] = (),
    credentials: Sequence[Credential] = (),
    sender: str | None = None,
    subject: str = "message",
    trust_cache: TrustCache | None = None,
) -> tuple[Finding, ...]:
    """Findings for every layer of ``message`` that can be opened with ``credentials``.

    Signed layers: the signature (intact, trusted, address), its digest, the
    announced capabilities and the signer's certificate. Encrypted layers: the
    content cipher and each recipient's key transport; the layer is opened with
    the first credential that is a recipient, else what is inside stays unjudged.
    """
    at = aware(at, what="check time")
    used_crls = tuple(crls) if policy.revocation_checking else ()
    outer, entity = split_message(message)
    current = message
    found: list[Finding] = []
    # From the first encrypted layer on, what is read lives in the caller's owned() memo
    # tables, else this call's own: nothing decrypted enters a module-level cache.
    opened_any = False
    with contextlib.ExitStack() as private:
        for depth in range(MAX_DEPTH):
            kind = classify(entity)
            if kind in (EntityKind.ENVELOPED, EntityKind.AUTH_ENVELOPED):
                found.extend(_enveloped_findings(entity, policy, subject))
                if not opened_any:
                    private.enter_context(owned())
                    opened_any = True
                inner = _open(current, credentials)
                if inner is None:
                    found.append(
                        finding(
                            "smime.msg.encrypted.unopened",
                            Severity.INFO,
                            "no key to open the encrypted layer; what is inside was not checked",
                            subject,
                        )
                    )
                    break
                entity = inner
            elif kind in (EntityKind.SIGNED_MULTIPART, EntityKind.SIGNED_OPAQUE):
                result = verify(
                    current,
                    anchors=anchors,
                    at=at,
                    crls=used_crls,
                    sender=sender,
                    trust_cache=trust_cache,
                    headers=outer,  # a nested signature answers to the outer From:/Sender:
                )
                found.extend(_signature_findings(result, policy, subject, at=at))
                entity = result.content
            else:
                if depth == 0:
                    found.append(
                        finding(
                            "smime.msg.unprotected",
                            Severity.INFO,
                            "neither signed nor encrypted"
                            if kind is EntityKind.PLAIN
                            else f"not S/MIME: a {kind.value} entity, not checked",
                            subject,
                        )
                    )
                break
            current = entity
        else:
            # Deeper layers would go unjudged, silently: refused, as open_message does.
            raise InputError(f"at most {MAX_DEPTH} nested S/MIME layers", "more", source=subject)
    return tuple(found)


def _open(current: bytes, credentials: Sequence[Credential]) -> bytes | None:
    for credential in credentials:
        try:
            return decrypt(current, credential).content
        except NotARecipientError:
            continue
        except (DecryptionError, UnsupportedAlgorithmError):
            # An algorithm the engine cannot decrypt with has its own finding already.
            return None
    return None


def _enveloped_findings(entity: bytes, policy: Policy, subject: str) -> list[Finding]:
    envelope = decode_enveloped(pkcs7_payload(entity))
    found: list[Finding] = []
    try:
        cipher = ContentCipher.from_oid(envelope.algorithm_oid)
    except UnsupportedAlgorithmError:
        allowed = ", ".join(c.value for c in policy.algorithms.content_encryption)
        found.append(
            finding(
                "smime.alg.content.not-allowed",
                Severity.ERROR,
                f"content encrypted with {envelope.algorithm_oid}, policy allows {allowed}",
                subject,
            )
        )
        if not envelope.authenticated:
            # EnvelopedData gives no integrity whatever its cipher (RFC 5652 §6, RFC 8551 §6):
            # an unknown one (aes-192-cbc, camellia) is as malleable as AES-CBC. The
            # cipher itself is judged above; this is the policy's word on EFAIL.
            found.append(unauthenticated_finding(envelope.algorithm_oid, True, policy, subject))
    else:
        found.extend(content_cipher_findings(cipher, policy, subject))
    seen: set[str] = set()
    for recipient in envelope.recipients:
        if isinstance(recipient, KeyTransRecipient):
            oid = recipient.algorithm_oid
            transport = KEY_TRANSPORTS.get(oid)
        elif isinstance(recipient, KeyAgreeRecipient):
            oid, transport = recipient.algorithm_oid, KeyTransport.ECDH
        else:
            oid, transport = recipient.kind, None
        if oid not in seen:
            seen.add(oid)
            found.extend(key_transport_findings(transport, oid, policy, subject))
    return found


def _signature_findings(
    result: VerificationResult, policy: Policy, subject: str, *, at: dt.datetime
) -> list[Finding]:
    found: list[Finding] = []
    if not result.intact:
        reasons = "; ".join(result.reasons) or "the signature does not verify"
        message = f"{result.integrity.value}: {reasons}"
        found.append(finding("smime.msg.signature.intact", Severity.ERROR, message, subject))
    if result.signer is not None and not result.trust.trusted:
        found.append(
            finding(
                "smime.msg.signature.trust",
                Severity.ERROR,
                f"signer {result.trust.status.value}: {result.trust.reason}",
                subject,
            )
        )
    if result.address_match is AddressMatch.MISMATCH:
        found.append(
            finding(
                "smime.msg.signature.address",
                Severity.ERROR,
                "the sender's address is not in the signer's certificate",
                subject,
            )
        )
    # Every hash the signature uses, not only digestAlgorithm's: a sha1WithRSAEncryption
    # signature over a sha256 digest, or RSASSA-PSS with MGF1-SHA1, uses SHA-1.
    for used in result.hashes:
        found.extend(digest_findings(used.value, policy, subject, "the signature"))
    if not result.capability_oids:
        found.append(
            finding(
                "smime.msg.capabilities.missing",
                Severity.WARNING,
                "no SMIMECapabilities: the recipient cannot tell which ciphers to encrypt with",
                subject,
            )
        )
    if result.signer is not None:
        others = [c for c in result.certificates if c != result.signer]
        found.extend(check_certificate(result.signer, policy, at=at, issuers=others))
    return found

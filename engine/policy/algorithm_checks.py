"""What a policy says about the algorithms a certificate or a message uses.

The digest of a signature (RFC 8551 §2.1; SHA-1 as the policy weighs it), the
content-encryption cipher (RFC 8551 §2.7: allowed, preferred, legacy, without
integrity protection as EFAIL showed, §6) and the key transport or agreement
(RFC 8551 §2.3). Certificate, message and decision checks all report through these.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.cms.algorithms import ContentCipher, KeyTransport
from engine.findings import Finding, Severity
from engine.policy.document import Policy, Verdict
from engine.policy.rules import finding

VERDICT_SEVERITY = {
    Verdict.ALLOW: Severity.INFO,
    Verdict.WARN: Severity.WARNING,
    Verdict.REFUSE: Severity.ERROR,
}


def digest_findings(
    name: str,
    policy: Policy,
    subject: str,
    what: str,
    not_allowed: str = "smime.sig.hash.not-allowed",
) -> Iterator[Finding]:
    rules = policy.algorithms
    if name == "sha1":
        severity = VERDICT_SEVERITY[rules.sha1]
        yield finding(
            "smime.sig.hash.sha1",
            severity,
            f"{what} uses SHA-1 (policy: {rules.sha1.value})",
            subject,
        )
        return
    allowed = [d.value for d in rules.signature_hashes]
    if name not in allowed:
        yield finding(
            not_allowed,
            Severity.ERROR,
            f"{what} uses {name}, policy allows {', '.join(allowed)}",
            subject,
        )


def content_cipher_findings(cipher: ContentCipher, policy: Policy, subject: str) -> list[Finding]:
    """What the policy says about content encrypted with ``cipher``."""
    rules = policy.algorithms
    allowed = cipher in rules.content_encryption
    found: list[Finding] = []
    if cipher.legacy:
        found.append(
            finding(
                "smime.alg.content.legacy-3des",
                Severity.WARNING if allowed else Severity.ERROR,
                f"{cipher.value} is a legacy cipher"
                + ("" if allowed else " the policy does not allow"),
                subject,
            )
        )
    if not cipher.authenticated:
        # Every CBC cipher, 3DES too: EFAIL's malleability is CBC's, whatever the block
        # cipher (RFC 8551 §6), so the legacy finding does not stand in for this one.
        found.append(unauthenticated_finding(cipher.value, allowed, policy, subject))
    elif not allowed:
        names = ", ".join(c.value for c in rules.content_encryption)
        found.append(
            finding(
                "smime.alg.content.not-allowed",
                Severity.ERROR,
                f"{cipher.value} is not among the allowed {names}",
                subject,
            )
        )
    if allowed and cipher is not rules.preferred_content_encryption:
        found.append(
            finding(
                "smime.alg.content.not-preferred",
                Severity.INFO,
                f"{cipher.value} instead of the preferred "
                f"{rules.preferred_content_encryption.value}",
                subject,
            )
        )
    return found


def unauthenticated_finding(name: str, allowed: bool, policy: Policy, subject: str) -> Finding:
    verdict = policy.algorithms.unauthenticated_encryption
    severity = VERDICT_SEVERITY[verdict] if allowed else Severity.ERROR
    return finding(
        "smime.alg.content.cbc-unauthenticated",
        severity,
        f"{name} has no integrity protection (EFAIL); "
        + (f"policy: {verdict.value}" if allowed else "the policy does not allow it"),
        subject,
    )


def key_transport_findings(
    transport: KeyTransport | None, oid: str, policy: Policy, subject: str
) -> list[Finding]:
    allowed = policy.algorithms.key_transport
    if transport is not None and transport in allowed:
        return []
    name = transport.value if transport is not None else oid
    return [
        finding(
            "smime.alg.key-transport.not-allowed",
            Severity.ERROR,
            f"key transport {name}, policy allows {', '.join(t.value for t in allowed)}",
            subject,
        )
    ]

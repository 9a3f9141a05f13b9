"""Judge a client's decision to encrypt against a policy.

Recipients it cannot encrypt to (no usable certificate, KB-03, KB-04, IMP-04; a
certificate whose CA the sender does not trust, IMP-03), the cipher it chose
(RFC 8551 §2.7.1), whether the sender can read its own sent copy (IMP-02) and,
when a time is given, each certificate it would encrypt to.
"""

from __future__ import annotations

import datetime as dt

from engine.findings import Finding, Severity
from engine.mail.profile import Fallback
from engine.mail.sending import EncryptionDecision
from engine.policy.algorithm_checks import content_cipher_findings
from engine.policy.certificate_checks import check_certificate
from engine.policy.document import Policy
from engine.policy.rules import finding


def check_decision(
    decision: EncryptionDecision,
    policy: Policy,
    *,
    at: dt.datetime | None = None,
    subject: str = "send decision",
) -> tuple[Finding, ...]:
    """Findings for a client's decision to encrypt: recipients it cannot encrypt to,
    the cipher chosen and, when ``at`` is given, each certificate it would use."""
    found: list[Finding] = []
    fallback = policy.client.unenrolled_recipients
    severity = Severity.ERROR if fallback is Fallback.REFUSE else Severity.WARNING
    for recipient in decision.recipients:
        if recipient.untrusted:
            assert recipient.trust is not None
            # Enrolled, with a certificate usable in itself, but its CA is not one the
            # sender trusts (IMP-03): not "unenrolled". Reported even when a client
            # profile encrypts to it anyway.
            found.append(
                finding(
                    "smime.decision.untrusted",
                    severity,
                    f"the certificate for {recipient.address} does not chain to a trusted "
                    f"root ({recipient.trust.status.value}: {recipient.trust.reason}); "
                    + (
                        "the client encrypts to it anyway"
                        if recipient.usable
                        else f"policy: {fallback.value}"
                    ),
                    subject,
                )
            )
    for recipient in decision.unusable:
        if recipient.untrusted:
            continue
        found.append(
            finding(
                "smime.decision.unenrolled",
                severity,
                f"no usable certificate for {recipient.address} "
                f"({recipient.reason or 'none found'}); policy: {fallback.value}",
                subject,
            )
        )
    if decision.usable and decision.cipher is not None:
        if decision.cipher.cipher is None:
            found.append(
                finding(
                    "smime.decision.cipher.none",
                    Severity.ERROR,
                    decision.cipher.reason,
                    subject,
                )
            )
        else:
            found.extend(content_cipher_findings(decision.cipher.cipher, policy, subject))
    if decision.usable and not decision.to_self:
        found.append(
            finding(
                "smime.decision.to-self",
                Severity.INFO,
                "the sender will not be able to read its own sent copy",
                subject,
            )
        )
    if at is not None:
        for recipient in decision.usable:
            if recipient.certificate is not None:
                found.extend(check_certificate(recipient.certificate, policy, at=at))
    return tuple(found)

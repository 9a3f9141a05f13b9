"""Turn a finished scenario's World into report records.

Only public material is copied: prompt texts, decisions, certificate details
and artifact file names. Keys, passwords and decrypted content never leave
the World.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from engine.harness.world import SendRecord, World
from engine.mail.sending import EncryptionDecision, RecipientDecision
from engine.pki.credential import certificate_email
from engine.report.model import DecisionRecord, FindingRecord, PromptRecord, RecipientRecord
from engine.smime.describe import CertificateRecord


def prompt_records(world: World) -> tuple[PromptRecord, ...]:
    return tuple(
        PromptRecord(
            user=event.user,
            text=event.prompt.text,
            choices=tuple(c.value for c in event.prompt.choices),
            answer=None if event.answer is None else event.answer.value,
        )
        for event in world.prompt_log
    )


def decision_records(world: World, relative_to: Path | None) -> tuple[DecisionRecord, ...]:
    authorities = _authorities(world)
    sends = (*world.sends, *world.unanswered_sends())
    return tuple(_decision(send, authorities, world, relative_to) for send in sends)


def _decision(
    send: SendRecord, authorities: Sequence[x509.Certificate], world: World, base: Path | None
) -> DecisionRecord:
    outcome = send.outcome
    decision: EncryptionDecision | None = outcome.decision
    recipients: tuple[RecipientRecord, ...] = ()
    cipher = cipher_reason = None
    if decision is not None:
        recipients = tuple(
            RecipientRecord(
                address=r.address,
                usable=r.usable,
                source=None if r.source is None else r.source.value,
                reason=r.reason,
                certificate_sha256=None
                if r.certificate is None
                else r.certificate.fingerprint(hashes.SHA256()).hex(),
                trust_path=_recipient_path(r, authorities),
                trust=_trust_verdict(r),
                trusted=None if r.trust is None else r.trust.trusted,
            )
            for r in decision.recipients
        )
        if decision.cipher is not None:
            cipher = None if decision.cipher.cipher is None else decision.cipher.cipher.value
            cipher_reason = decision.cipher.reason
    artifact = None
    if send.artifact is not None and world.artifact_dir is not None:
        artifact = _relative(world.artifact_dir / send.artifact.name, base)
    return DecisionRecord(
        sender=send.sender.address,
        outcome=outcome.status,
        reason=outcome.reason,
        signed=outcome.signed,
        encrypted=outcome.encrypted,
        plaintext_by_choice=outcome.plaintext_by_choice,
        recipients=recipients,
        to_self=bool(decision and decision.to_self and outcome.encrypted),
        cipher=cipher if outcome.encrypted else None,
        cipher_reason=cipher_reason if outcome.encrypted else None,
        artifact=artifact,
    )


def _recipient_path(
    recipient: RecipientDecision, authorities: Sequence[x509.Certificate]
) -> tuple[str, ...]:
    """The path the sender's client validated, leaf first; when it found none to a root
    it trusts, the path by issuer names with its end marked as not trusted."""
    if recipient.certificate is None:
        return ()
    trust = recipient.trust
    if trust is not None and trust.trusted:
        names = [_label(c) for c in trust.chain]
        if recipient.trusted_on_first_use:
            names[-1] += " (trusted on first use)"
        return tuple(names)
    names = list(trust_path(recipient.certificate, authorities))
    if trust is not None:
        names[-1] += " (not trusted)"
    return tuple(names)


def _trust_verdict(recipient: RecipientDecision) -> str | None:
    trust = recipient.trust
    if trust is None:
        return None
    if not trust.trusted:
        return f"not trusted: {trust.status.value}: {trust.reason}"
    if recipient.trusted_on_first_use:
        return "trusted on first use (the policy's trust_on_first_use)"
    return "trusted"


def _authorities(world: World) -> list[x509.Certificate]:
    found: list[x509.Certificate] = []
    for org in world.organizations.values():
        for cert in (*org.ca.chain, org.ca.root):
            if cert not in found:
                found.append(cert)
    return found


def trust_path(
    certificate: x509.Certificate, authorities: Sequence[x509.Certificate]
) -> tuple[str, ...]:
    """The chain by issuer name, leaf first, as readable names (RFC 5280 §6.1 order reversed)."""
    names = [_label(certificate)]
    current = certificate
    for _ in authorities:
        parent = next((a for a in authorities if a.subject == current.issuer), None)
        if parent is None:
            names.append(f"{current.issuer.rfc4514_string()} (unknown issuer)")
            break
        names.append(_label(parent))
        if parent.subject == parent.issuer:
            break
        current = parent
    return tuple(names)


def _label(certificate: x509.Certificate) -> str:
    cn = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return (
        str(cn[0].value)
        if cn
        else (certificate_email(certificate) or certificate.subject.rfc4514_string())
    )


def certificate_records(world: World) -> tuple[CertificateRecord, ...]:
    """The organizations' CA certificates and every user certificate issued in the scenario."""
    seen: dict[bytes, CertificateRecord] = {}
    for cert in _certificates(world):
        key = cert.fingerprint(hashes.SHA256())
        if key not in seen:
            seen[key] = CertificateRecord.of(cert)
    return tuple(seen.values())


def _certificates(world: World) -> Iterable[x509.Certificate]:
    yield from _authorities(world)
    for org in world.organizations.values():
        for user in world.users.values():
            if user.organization is not org:
                continue
            for enrollment in org.enrollments(user.address):
                yield enrollment.signing.certificate
                yield enrollment.encryption.certificate


def finding_records(world: World) -> tuple[FindingRecord, ...]:
    """Policy findings the scenario's checks produced (empty without a policy)."""
    out = []
    expected = getattr(world, "expected_findings", ())
    for finding in getattr(world, "findings", ()):
        out.append(
            FindingRecord(
                expected=finding in expected,
                severity=finding.severity,
                rule_id=str(getattr(finding, "rule_id", "")),
                message=str(getattr(finding, "message", "")),
                subject=str(getattr(finding, "subject", "")),
                citation=str(getattr(finding, "citation", "")),
            )
        )
    return tuple(out)


def artifact_paths(world: World, relative_to: Path | None) -> tuple[str, ...]:
    if world.artifact_dir is None:
        return ()
    return tuple(_relative(world.artifact_dir / a.name, relative_to) for a in world.artifacts)


def _relative(path: Path, base: Path | None) -> str:
    if base is None:
        return str(path)
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path)


def policy_names(world: World) -> tuple[str, ...]:
    """The policies in force in the scenario: each organization's, else the default's."""
    from engine.policy.document import default_policy

    names: set[object] = set()
    for org in world.organizations.values():
        chosen = world.chosen_policy(org)
        names.add(getattr(chosen or default_policy(), "name", None))
    if not names:
        names.add(getattr(world.policy or default_policy(), "name", None))
    return tuple(sorted(n for n in names if isinstance(n, str)))


def profile_names(world: World) -> tuple[str, ...]:
    """The client profiles the scenario's users' clients followed (the default without users)."""
    names = {user.client.profile.name for user in world.users.values()}
    return tuple(sorted(names or {world.default_profile.name}))

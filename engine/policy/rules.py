"""The rule catalogue: every finding's stable ID, its citation, and how checks compose.

Each rule has a dotted lowercase ID that never changes meaning and a citation:
an RFC section, a CA/Browser Forum S/MIME Baseline Requirements section
("SMBR 7.1.2.3 (f)") or the article's requirement ID (KB-01). A check is
anything with ``name`` and ``run(subject)``; :class:`AllOf` runs several and
reports them all, :class:`AnyOf` passes when one alternative has no error.
A check that raises becomes a ``smime.internal`` finding instead of ending the
evaluation (pkilint's lesson).

Findings of pkilint, the CA/B Forum S/MIME linter run for the profile a policy
claims, keep pkilint's own dotted code behind a ``pkilint.`` prefix
(``pkilint.cabf.smime.prohibited_attribute``). Those codes are pkilint's, not
ours, so they are declared here by family (:data:`RULE_FAMILIES`, one per code
namespace, each with its citation) and, where the section is known, code by code
(:data:`PKILINT_CITATIONS`).
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Generic, Protocol, TypeVar

from engine.errors import InputError
from engine.findings import Finding, Severity, errors
from engine.findings import Rule as Rule
from engine.pki import requirements as cert


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {r.id: r for r in rules}


RULES: dict[str, Rule] = _rules(
    Rule(
        id="smime.internal",
        citation="smime-harness (a check crashed: a bug to report)",
        summary="a check raised an exception; its subject was not fully judged",
    ),
    # --- certificates (the requirements themselves: engine.pki.requirements) ----------
    cert.VERSION,
    cert.EXPIRED,
    cert.NOT_YET_VALID,
    Rule(
        id="smime.cert.validity.period",
        citation="SMBR 6.3.2",
        summary="the validity period is at most the policy's maximum (825 days, strict)",
    ),
    cert.MAILBOX,
    cert.ADDRESS,
    cert.KEY_USAGE_MISSING,
    cert.KEY_USAGE_PURPOSE,
    cert.EMAIL_PROTECTION,
    cert.EKU_OTHER,
    Rule(
        id="smime.cert.key.rsa-size",
        citation="SMBR 6.1.5; RFC 8551 §2.2",
        summary="RSA keys are at least the policy's minimum size",
    ),
    Rule(
        id="smime.cert.key.curve",
        citation="SMBR 6.1.5",
        summary="EC keys are on an allowed curve",
    ),
    cert.KEY_TYPE,
    Rule(
        id="smime.cert.signature.hash",
        citation="SMBR 7.1.3.2; RFC 8551 §2.1",
        summary="the issuer signed the certificate with an allowed hash",
    ),
    Rule(
        id="smime.cert.profile.unlinted",
        citation="SMBR 7.1; smime-harness (pkilint could not read the certificate)",
        summary="the certificate could be checked against the policy's SMBR profile",
    ),
    cert.REVOKED,
    cert.REVOCATION_UNCHECKED,
    # --- messages -------------------------------------------------------------------
    Rule(
        id="smime.msg.unprotected",
        citation="RFC 8551 §3; KB-04",
        summary="the message is neither signed nor encrypted",
    ),
    Rule(
        id="smime.msg.encrypted.unopened",
        citation="RFC 8551 §3.3",
        summary="an encrypted layer could not be opened, so what is inside was not checked",
    ),
    Rule(
        id="smime.msg.signature.intact",
        citation="RFC 5652 §5.6; IMP-03",
        summary="the signature verifies over the content",
    ),
    Rule(
        id="smime.msg.signature.trust",
        citation="RFC 8550 §4; IMP-03",
        summary="the signer's certificate chains to a trusted CA, valid and not revoked",
    ),
    Rule(
        id="smime.msg.signature.address",
        citation="RFC 8550 §3; IMP-03",
        summary="the sender's address is in the signer's certificate",
    ),
    Rule(
        id="smime.msg.capabilities.missing",
        citation="RFC 8551 §2.5.2; KB-06",
        summary="a signed message announces the sender's capabilities",
    ),
    Rule(
        id="smime.sig.hash.sha1",
        citation="RFC 8551 §2.1, §2.2.1; SMBR 7.1.3.2",
        summary="SHA-1 signatures: historical only",
    ),
    Rule(
        id="smime.sig.hash.not-allowed",
        citation="RFC 8551 §2.1",
        summary="the signature's digest is among the policy's",
    ),
    # --- algorithms -----------------------------------------------------------------
    Rule(
        id="smime.alg.content.cbc-unauthenticated",
        citation="RFC 8551 §2.7 (AES-CBC MUST-), §6 (EFAIL)",
        summary="content encrypted without integrity protection (CBC)",
    ),
    Rule(
        id="smime.alg.content.legacy-3des",
        citation="RFC 8551 §2.7",
        summary="content encrypted with 3DES, a legacy cipher",
    ),
    Rule(
        id="smime.alg.content.not-allowed",
        citation="RFC 8551 §2.7",
        summary="the content-encryption algorithm is among the policy's",
    ),
    Rule(
        id="smime.alg.content.not-preferred",
        citation="RFC 8551 §2.7.1",
        summary="the content-encryption algorithm is not the policy's preferred one",
    ),
    Rule(
        id="smime.alg.key-transport.not-allowed",
        citation="RFC 8551 §2.3",
        summary="the key transport or agreement algorithm is among the policy's",
    ),
    # --- send decisions -------------------------------------------------------------
    Rule(
        id="smime.decision.unenrolled",
        citation="KB-03, KB-04, IMP-04",
        summary="a recipient has no usable encryption certificate",
    ),
    Rule(
        id="smime.decision.untrusted",
        citation="RFC 8550 §4.4, RFC 5280 §6; IMP-03",
        summary="a recipient's certificate does not chain to a root the sender trusts",
    ),
    Rule(
        id="smime.decision.cipher.none",
        citation="RFC 8551 §2.7.1",
        summary="no content-encryption algorithm is common to sender, recipients and policy",
    ),
    Rule(
        id="smime.decision.to-self",
        citation="IMP-02",
        summary="the sender is not among the recipients of its own encrypted mail",
    ),
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RuleFamily:
    """Rules named by another tool: every ID that starts with ``prefix``."""

    prefix: str
    citation: str
    summary: str


# pkilint's code namespaces, as run for an SMBR certificate profile (engine.policy.lint); the
# longest matching prefix wins, and "pkilint." keeps a code from a namespace pkilint
# adds later a finding with an honest citation rather than a crash.
RULE_FAMILIES: tuple[RuleFamily, ...] = (
    RuleFamily(
        prefix="pkilint.cabf.smime.",
        citation="SMBR 7.1 (pkilint cabf.smime)",
        summary="the S/MIME Baseline Requirements certificate profile",
    ),
    RuleFamily(
        prefix="pkilint.cabf.",
        citation="SMBR 7.1 (pkilint cabf: CA/B Forum requirements common to its BRs)",
        summary="CA/B Forum requirements shared by its Baseline Requirements",
    ),
    RuleFamily(
        prefix="pkilint.pkix.",
        citation="RFC 5280 §4.1, §4.2 (pkilint pkix)",
        summary="the X.509 certificate profile of RFC 5280",
    ),
    RuleFamily(
        prefix="pkilint.itu.",
        citation="RFC 5280 §4.1 (DER, X.690; pkilint itu)",
        summary="the certificate is valid DER",
    ),
    RuleFamily(
        prefix="pkilint.iso.",
        citation="SMBR 7.1.2.3 (ISO 17442 LEI; pkilint iso)",
        summary="a Legal Entity Identifier extension is well formed",
    ),
    RuleFamily(
        prefix="pkilint.msft.",
        citation="SMBR 7.1.2.3 (Microsoft UPN otherName; pkilint msft)",
        summary="a Microsoft user principal name is well formed",
    ),
    RuleFamily(
        prefix="pkilint.adbe.",
        citation="SMBR 7.1.2.3 (Adobe timestamp extension; pkilint adbe)",
        summary="an Adobe timestamp extension is well formed",
    ),
    RuleFamily(
        prefix="pkilint.googl.",
        citation="SMBR 7.1 (Gmail's S/MIME certificate requirements; pkilint googl)",
        summary="Gmail's additional requirements for S/MIME certificates",
    ),
    RuleFamily(
        prefix="pkilint.base.",
        citation="smime-harness (a pkilint validator crashed: not fully linted)",
        summary="a pkilint validator raised an exception",
    ),
    RuleFamily(
        prefix="pkilint.",
        citation="SMBR 7.1 (pkilint; a code outside the declared families)",
        summary="a pkilint finding of a namespace not declared above",
    ),
)

# Sections of the CA/B Forum S/MIME BR (v1.0.x numbering) for the pkilint codes a
# policy meets most; other codes carry their family's citation.
PKILINT_CITATIONS: dict[str, str] = {
    "pkilint.cabf.smime.prohibited_attribute": "SMBR 7.1.4.2.2",
    "pkilint.cabf.smime.missing_required_attribute": "SMBR 7.1.4.2.2",
    "pkilint.cabf.smime.common_name_value_unknown_source": "SMBR 7.1.4.2.2 (a)",
    "pkilint.cabf.smime.email_address_in_attribute_not_in_san": "SMBR 7.1.4.2.1",
    "pkilint.cabf.smime.certificate_policies_extension_missing": "SMBR 7.1.2.3 (a)",
    "pkilint.cabf.smime.no_required_reserved_policy_oid": "SMBR 7.1.2.3 (a), 7.1.6.4",
    "pkilint.cabf.smime.multiple_reserved_policy_oids": "SMBR 7.1.2.3 (a), 7.1.6.4",
    "pkilint.cabf.smime.crldp_extension_missing": "SMBR 7.1.2.3 (b)",
    "pkilint.cabf.aia_extension_missing": "SMBR 7.1.2.3 (c)",
    "pkilint.cabf.smime.is_ca_certificate": "SMBR 7.1.2.3 (d)",
    "pkilint.cabf.smime.key_usage_extension_missing": "SMBR 7.1.2.3 (e)",
    "pkilint.cabf.smime.prohibited_ku_present": "SMBR 7.1.2.3 (e)",
    "pkilint.cabf.smime.extended_key_usage_extension_missing": "SMBR 7.1.2.3 (f)",
    "pkilint.cabf.smime.emailprotection_eku_missing": "SMBR 7.1.2.3 (f)",
    "pkilint.cabf.smime.prohibited_eku_present": "SMBR 7.1.2.3 (f)",
    "pkilint.cabf.smime.san_extension_missing": "SMBR 7.1.2.3 (h)",
    "pkilint.cabf.smime.san_does_not_contain_email_address": "SMBR 7.1.2.3 (h), 7.1.4.2.1",
    "pkilint.cabf.smime.certificate_validity_period_exceeds_825_days": "SMBR 6.3.2",
    "pkilint.cabf.internal_domain_name": "SMBR 3.2.2, 7.1.4.2.1 (a registered domain name)",
    "pkilint.cabf.certificate_extensions_missing": "SMBR 7.1.2.3",
    "pkilint.pkix.certificate_version_is_not_v3": "RFC 5280 §4.1.2.1",
}


def rule_family(rule_id: str) -> RuleFamily | None:
    """The declared family of an external rule ID (longest prefix), or None."""
    matches = [f for f in RULE_FAMILIES if rule_id.startswith(f.prefix)]
    return max(matches, key=lambda f: len(f.prefix)) if matches else None


def rule(rule_id: str) -> Rule:
    """A catalogued rule, or one of a declared family (pkilint's codes) with its citation."""
    if rule_id in RULES:
        return RULES[rule_id]
    family = rule_family(rule_id)
    if family is None or len(rule_id) == len(family.prefix):
        raise InputError("a rule ID from the catalogue", repr(rule_id))
    citation = PKILINT_CITATIONS.get(rule_id)
    return Rule(
        id=rule_id,
        citation=f"{citation} (pkilint)" if citation else family.citation,
        summary=family.summary,
    )


def finding(rule_id: str, severity: Severity, message: str, subject: str) -> Finding:
    """A finding of a catalogued rule, carrying the rule's citation."""
    return rule(rule_id).finding(severity, message, subject)


# --- composing checks ------------------------------------------------------------------

S_contra = TypeVar("S_contra", contravariant=True)
S = TypeVar("S")


class Check(Protocol[S_contra]):
    """Judges one subject (a certificate, a message, a decision) and reports findings."""

    @property
    def name(self) -> str: ...

    def run(self, subject: S_contra) -> Iterable[Finding]: ...


@dataclasses.dataclass(frozen=True, slots=True)
class Single(Generic[S]):
    """A check from a function: ``Single("name", lambda subject: findings)``."""

    name: str
    func: Callable[[S], Iterable[Finding]]

    def run(self, subject: S) -> Iterable[Finding]:
        return self.func(subject)


def run_safely(check: Check[S], subject: S, label: str) -> tuple[Finding, ...]:
    """Run one check; an exception becomes an ``smime.internal`` finding."""
    try:
        return tuple(check.run(subject))
    except Exception as exc:  # a crashing check must not end the evaluation
        return (
            finding(
                "smime.internal",
                Severity.ERROR,
                f"check {check.name!r} crashed: {type(exc).__name__}: {exc}",
                label,
            ),
        )


class _Combination(abc.ABC, Generic[S]):
    """Checks judged together under one name; ``label`` names the subject in their
    findings. A combination of no checks is an error, never a pass."""

    def __init__(self, name: str, checks: Sequence[Check[S]], *, label: Callable[[S], str]):
        if not checks:
            raise InputError(f"at least one check in {type(self).__name__} {name!r}", "none")
        self.name = name
        self.checks = tuple(checks)
        self.label = label

    def run(self, subject: S) -> Iterable[Finding]:
        text = _label(self.label, subject)
        return self._combine(run_safely(check, subject, text) for check in self.checks)

    @abc.abstractmethod
    def _combine(self, results: Iterator[tuple[Finding, ...]]) -> list[Finding]:
        """The findings reported from each check's, run one by one as they are drawn."""


class AllOf(_Combination[S]):
    """Every check runs; all their findings are reported. An empty AllOf is an error."""

    def _combine(self, results: Iterator[tuple[Finding, ...]]) -> list[Finding]:
        return [found for findings in results for found in findings]


class AnyOf(_Combination[S]):
    """Passes when one alternative reports no error; otherwise reports every alternative's."""

    def _combine(self, results: Iterator[tuple[Finding, ...]]) -> list[Finding]:
        collected: list[Finding] = []
        for found in results:  # the alternatives after the first that passes do not run
            if not errors(found):
                return list(found)
            collected.extend(found)
        return collected


def _label(label: Callable[[S], str], subject: S) -> str:
    try:
        return label(subject)
    except Exception as exc:  # even naming the subject may fail on a broken input
        return f"(unnamed subject: {type(exc).__name__})"

"""Steps about policy: what each organization follows and what the policy reports.

An organization's policy (built in, or a TOML file beside the feature), the cipher and
digest a client is told to use, and Then steps on the findings the policy reports for
the last send, by rule ID of the catalogue and severity.
"""

from __future__ import annotations

from engine.cms.algorithms import STRENGTH_ORDER, ContentCipher, DigestAlgorithm, parse_enum
from engine.errors import InputError
from engine.findings import Finding, Severity
from engine.harness.steps.expectation import fail, one_of
from engine.harness.steps.library import check, setup_or_action
from engine.harness.world import World
from engine.policy.document import BUILTIN, Policy, load_policy
from engine.policy.rules import RULE_FAMILIES, RULES, rule


@setup_or_action('the organization policy "{policy}"')
def organization_policy(world: World, policy: str) -> None:
    """Every organization follows a built-in policy (outlook98, rfc8551, strict) or a .toml file."""
    world.choose_policy(_policy(world, policy))


@setup_or_action('{org:w}\'s policy is "{policy}"')
def org_policy(world: World, org: str, policy: str) -> None:
    """One organization follows a built-in policy or a .toml file (relative to the feature)."""
    world.choose_policy(_policy(world, policy), org)


def _policy(world: World, reference: str) -> Policy:
    """A built-in policy by name, or a .toml file inside the feature's folder tree."""
    if reference in BUILTIN:
        return load_policy(reference)
    path = world.resolve(reference, "a policy file")
    # A client profile file the policy names must lie in the same folder tree.
    return load_policy(str(path), confine=lambda p: world.resolve(str(p), "a client profile file"))


_ENCRYPTING = tuple(c.value for c in STRENGTH_ORDER)


@setup_or_action(
    '{user:w}\'s client encrypts with "{cipher}"',
    values={"cipher": _ENCRYPTING},
    example={"cipher": "aes-128-gcm"},
)
def encrypts_with(world: World, user: str, cipher: str) -> None:
    """The one content cipher the user's client encrypts with; every recipient must support it."""
    if cipher not in _ENCRYPTING:
        raise one_of("a cipher the client can encrypt with", _ENCRYPTING, cipher)
    world.set_cipher(user, ContentCipher(cipher))


@setup_or_action(
    '{user:w}\'s client signs with "{digest}"',
    values={"digest": [d.value for d in DigestAlgorithm]},
    example={"digest": "sha1"},
)
def signs_with(world: World, user: str, digest: str) -> None:
    """The digest the user's client signs with (sha1, sha256, sha384, sha512)."""
    world.set_digest(user, parse_enum(DigestAlgorithm, digest, "digest"))


def _findings_text(findings: tuple[Finding, ...]) -> str:
    if not findings:
        return "no findings"
    return "; ".join(f"{f.severity.value} {f.rule_id} ({f.message})" for f in findings)


@check("the policy reports no errors for the last message")
def policy_no_errors(world: World) -> None:
    findings = world.findings_of_last_send()
    errors = tuple(f for f in findings if f.severity is Severity.ERROR)
    if errors:
        raise fail("no error-level findings", _findings_text(errors))


def _known_rule(rule_id: str) -> None:
    """A misspelt rule ID is a mistake in the scenario, not a finding that is absent."""
    try:
        rule(rule_id)  # the catalogue, or a declared family of pkilint's codes
    except InputError:
        raise InputError(
            "a rule ID of the catalogue (smime-harness steps --json lists them)", repr(rule_id)
        ) from None


# The catalogue's IDs, then each declared family of another tool's codes (pkilint's).
_RULE_IDS = (*RULES, *(f"{family.prefix}<code>" for family in RULE_FAMILIES))


@check('the policy reports "{rule_id}"', values={"rule_id": _RULE_IDS})
def policy_reports(world: World, rule_id: str) -> None:
    _known_rule(rule_id)
    findings = world.findings_of_last_send()
    if not any(f.rule_id == rule_id for f in findings):
        raise fail(f"a finding {rule_id!r}", _findings_text(findings))
    world.expect_findings(f for f in findings if f.rule_id == rule_id)


_SEVERITY_WORDS = {"an error": Severity.ERROR, "a warning": Severity.WARNING, "info": Severity.INFO}


@check(
    'the policy reports "{rule_id}" as {severity}',
    values={"rule_id": _RULE_IDS, "severity": _SEVERITY_WORDS},
    example={"rule_id": "smime.sig.hash.sha1", "severity": "an error"},
)
def policy_reports_as(world: World, rule_id: str, severity: str) -> None:
    _known_rule(rule_id)
    if severity not in _SEVERITY_WORDS:
        raise one_of("a severity", _SEVERITY_WORDS, severity)
    wanted = _SEVERITY_WORDS[severity]
    findings = world.findings_of_last_send()
    matching = [f for f in findings if f.rule_id == rule_id]
    if not any(f.severity is wanted for f in matching):
        raise fail(f"{rule_id!r} as {severity}", _findings_text(findings))
    world.expect_findings(f for f in matching if f.severity is wanted)


@check('the policy reports nothing about "{rule_id}"', values={"rule_id": _RULE_IDS})
def policy_silent(world: World, rule_id: str) -> None:
    _known_rule(rule_id)
    findings = world.findings_of_last_send()
    matching = tuple(f for f in findings if f.rule_id == rule_id)
    if matching:
        raise fail(f"no finding {rule_id!r}", _findings_text(matching))

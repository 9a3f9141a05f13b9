"""Steps that set up organizations and enroll their people.

Each organization runs its own key management (an authority, a directory and a mail
server); a person enrolled there holds X.509 v3 certificates for their address
(RFC 5280 §4.1) with the key usage an S/MIME certificate needs (RFC 5280 §4.2.1.3,
RFC 8550 §4.4.2). Enrollment may also go through a one-time token.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509

from engine.errors import EnrollmentError
from engine.harness.steps.expectation import fail, one_of
from engine.harness.steps.library import action, check, setup_or_action
from engine.harness.world import World
from engine.pki.credential import certificate_emails
from engine.pki.keys import KeyType


@setup_or_action("{first:w} and {second:w} each run their own key management")
def two_organizations(world: World, first: str, second: str) -> None:
    world.add_organization(first)
    world.add_organization(second)


@setup_or_action("{org:w} runs its own key management")
def one_organization(world: World, org: str) -> None:
    world.add_organization(org)


@setup_or_action("{org:w} runs its own key management for the domain {domain}")
def organization_with_domain(world: World, org: str, domain: str) -> None:
    """An organization whose mail domain is given (by default it is <org>.example, which
    profiles for publicly trusted certificates refuse as an internal name)."""
    world.add_organization(org, domain=domain)


@setup_or_action("{org:w} runs its own key management with an intermediate CA")
def organization_with_intermediate(world: World, org: str) -> None:
    world.add_organization(org, intermediate=True)


@setup_or_action("{user:w} is enrolled at {org:w}")
def enrolled(world: World, user: str, org: str) -> None:
    world.add_user(user, org)


_ARRANGEMENTS: dict[str, dict[str, Any]] = {
    "a dual-use certificate": {},
    "separate signing and encryption certificates": {"separate": True},
    "an EC P-256 key": {"key_type": KeyType.EC_P256},
    "an RSA 3072 key": {"key_type": KeyType.RSA_3072},
}


@setup_or_action(
    "{user:w} is enrolled at {org:w} with {arrangement}", values={"arrangement": _ARRANGEMENTS}
)
def enrolled_with(world: World, user: str, org: str, arrangement: str) -> None:
    try:
        options = _ARRANGEMENTS[arrangement]
    except KeyError:
        raise one_of("an arrangement", _ARRANGEMENTS, arrangement) from None
    world.add_user(user, org, **options)


@setup_or_action("{user:w} has a mailbox at {org:w} but is not enrolled")
def unenrolled(world: World, user: str, org: str) -> None:
    world.add_user(user, org, enrolled=False)


@action("{org:w} issues an enrollment token for {user:w}")
def issue_token(world: World, org: str, user: str) -> None:
    world.issue_token(org, user)


@action("{user:w} enrolls at {org:w} with that token")
def enroll_with_token(world: World, user: str, org: str) -> None:
    world.enroll_with_token(user, org)


@check("enrolling {user:w} at {org:w} again with the same token is refused")
def token_reuse_refused(world: World, user: str, org: str) -> None:
    try:
        world.enroll_with_token(user, org)
    except EnrollmentError as exc:
        assert "already used" in str(exc), str(exc)
        return
    raise fail("the second enrollment with one token to be refused", "it was accepted")


@check("{user:w} holds an X.509 v3 certificate issued by {org:w} for {address}")
def holds_v3(world: World, user: str, org: str, address: str) -> None:
    enrollment = world.enrollment(user)
    organization = world.organization(org)
    for credential in {id(c): c for c in (enrollment.signing, enrollment.encryption)}.values():
        cert = credential.certificate
        if cert.version is not x509.Version.v3:
            raise fail("an X.509 v3 certificate", cert.version.name)
        if cert.issuer != organization.ca.issuer.certificate.subject:
            raise fail(f"issuer {organization.name}", cert.issuer.rfc4514_string())
        if address not in certificate_emails(cert):
            raise fail(f"a certificate for {address}", certificate_emails(cert))


# RFC 5280 §4.2.1.3, in words: the attribute of cryptography's KeyUsage each names.
_USAGES = {
    "digital signature": "digital_signature",
    "content commitment": "content_commitment",
    "key encipherment": "key_encipherment",
    "data encipherment": "data_encipherment",
    "key agreement": "key_agreement",
}


@check(
    "{user:w}'s encryption certificate allows {usage}",
    values={"usage": _USAGES},
    example={"usage": "key encipherment"},
)
def encryption_usage(world: World, user: str, usage: str) -> None:
    if usage not in _USAGES:
        raise one_of("a key usage", _USAGES, usage)
    cert = world.enrollment(user).encryption.certificate
    key_usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    if not getattr(key_usage, _USAGES[usage]):
        raise fail(f"key usage {usage}", key_usage)

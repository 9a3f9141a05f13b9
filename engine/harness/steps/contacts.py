"""Steps about opening messages and keeping Contacts.

Opening a message, Add to Contacts, a contact from an earlier signed message, and
the certificates a contact stands for changing under it: renewed, revoked
(RFC 5280 §5), expired, issued for another address, deliberately flawed, or read
from a partner's file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from engine.harness.scene import GENERATIONS, User
from engine.harness.steps.expectation import fail, one_of
from engine.harness.steps.library import setup_or_action
from engine.harness.steps.sending import send
from engine.harness.world import World
from engine.mail.reading import ContactStatus
from engine.pki.certificate_spec import CertificateSpec
from engine.pki.credential import load_certificates
from engine.pki.enrollment import Enrollment
from engine.pki.key_usage import CertificatePurpose, KeyUsageBit
from engine.pki.revocation import RevocationReason


@setup_or_action("{user:w} opens the last message from {sender:w}")
def opens(world: World, user: str, sender: str) -> None:
    person = world.user(user)
    world.note_opened(user, person.client.open(world.last_message_for(user, sender)))


@setup_or_action("{user:w} opens the last message")
def opens_newest(world: World, user: str) -> None:
    """Open the newest message in the user's inbox, whoever sent it."""
    world.open_last(user)


@setup_or_action("{user:w} adds {other:w} to Contacts")
def add_to_contacts(world: World, user: str, other: str) -> None:
    person = world.user(user)
    received = world.opened_by(user)
    if received.sender is None or received.sender.lower() != world.address(other).lower():
        raise fail(f"the last opened message to come from {other}", received.sender)
    world.note_contact(user, person.client.add_to_contacts(received))


@setup_or_action("{user:w} has {other:w} in Contacts from an earlier signed message")
def contact_from_earlier(world: World, user: str, other: str) -> None:
    send(world, other, "a signed", user)
    opens(world, user, other)
    if world.address(other) in world.user(user).client.contacts:
        world.user(user).client.restart()  # captured on opening (an auto-capturing client)
        return
    add_to_contacts(world, user, other)
    outcome = world.last_contact
    if outcome is None or outcome.status is not ContactStatus.ADDED:
        raise fail("the contact to be added", outcome)
    world.user(user).client.restart()


@setup_or_action("{org:w} renews {user:w}'s certificates")
def renews(world: World, org: str, user: str) -> None:
    world.organization(org)  # refuse an unknown organization clearly
    world.renew(user)


@setup_or_action("{org:w} revokes {user:w}'s certificates")
def revokes(world: World, org: str, user: str) -> None:
    revokes_which(world, org, user, "current")


@setup_or_action(
    "{org:w} revokes {user:w}'s {which:w} certificates",
    values={"which": GENERATIONS},
    example={"org": "Fabrikam", "user": "UserB", "which": "previous"},
)
def revokes_which(world: World, org: str, user: str, which: str) -> None:
    """Revoke the certificates a user holds now, or those held before the last renewal."""
    organization = world.organization(org)
    enrollment = world.enrollment(user, which)
    for credential in {id(c): c for c in (enrollment.signing, enrollment.encryption)}.values():
        organization.ca.revoke(credential.certificate, RevocationReason.KEY_COMPROMISE)
    organization.publish_crl()


@setup_or_action("{user:w}'s certificate expires", example={"user": "UserB"})
def certificate_expires(world: World, user: str) -> None:
    """The clock moves one second past the notAfter of the user's current certificates.

    Time moves for everyone: certificates issued at the same time expire with them.
    """
    enrollment = world.enrollment(user)
    credentials = (enrollment.signing, enrollment.encryption)
    last = max(c.certificate.not_valid_after_utc for c in credentials)
    now = world.clock.now()
    if now <= last:
        world.advance(last - now + dt.timedelta(seconds=1))


@setup_or_action(
    "{user:w}'s certificate names {address} instead",
    example={"address": "someone.else@contoso.example"},
)
def certificate_names_other(world: World, user: str, address: str) -> None:
    person = world.user(user)
    credential = person.organization.ca.issue(
        CertificateSpec(email=person.address, san_emails=(address,))
    )
    person.client.install(
        Enrollment(email=person.address, signing=credential, encryption=credential)
    )


# The deliberately flawed certificates a scenario can name: what each changes in the spec.
_VARIANTS: dict[str, Callable[[dt.datetime, User], dict[str, Any]]] = {
    "a legacy X.509 v1 certificate": lambda now, owner: {"version": 1},
    "an expired certificate": lambda now, owner: {
        "not_before": now - dt.timedelta(days=400),
        "not_after": now - dt.timedelta(days=35),
    },
    "a revoked certificate": lambda now, owner: {},  # revoked once issued
    "a certificate without key encipherment": lambda now, owner: {
        "key_usage": frozenset({KeyUsageBit.DIGITAL_SIGNATURE})
    },
    "a certificate without email protection": lambda now, owner: {
        "extended_key_usage": (ExtendedKeyUsageOID.CLIENT_AUTH,)
    },
    "a certificate for another address": lambda now, owner: {
        "san_emails": (f"someone.else@{owner.organization.domain}",)
    },
}


def _variant(world: World, owner: User, description: str) -> x509.Certificate:
    """Issue the deliberately flawed certificate a scenario names."""
    ca = owner.organization.ca
    if description not in _VARIANTS:
        raise one_of("a certificate description", _VARIANTS, description)
    base: dict[str, Any] = {"email": owner.address, "purpose": CertificatePurpose.ENCRYPTION}
    base.update(_VARIANTS[description](world.clock.now(), owner))
    certificate = ca.issue(CertificateSpec(**base)).certificate
    if description == "a revoked certificate":
        ca.revoke(certificate, RevocationReason.KEY_COMPROMISE)
        owner.organization.publish_crl()
    return certificate


@setup_or_action(
    '{user:w} has {other:w} in Contacts with the certificate in "{path}"',
    overrides=["{user:w} has {other:w} in Contacts with {certificate}"],
)
def contact_from_file(world: World, user: str, other: str, path: str) -> None:
    """A contact holding a real certificate file (a partner's), as if processed already."""
    contact_with_variant(world, user, other, f'the certificate in "{path}"')


@setup_or_action(
    "{user:w} has {other:w} in Contacts with {certificate}",
    values={"certificate": _VARIANTS},
    example={"certificate": "an expired certificate"},
)
def contact_with_variant(world: World, user: str, other: str, certificate: str) -> None:
    world.user(user)  # an unknown user is refused before any certificate is issued
    owner = world.user(other)
    issuers = owner.organization.ca.chain
    if certificate.startswith('the certificate in "') and certificate.endswith('"'):
        path, data = world.read_file(certificate[len('the certificate in "') : -1], "a certificate")
        # One certificate, or a PEM bundle: the contact's certificate first, then its issuing
        # CAs (the chain a signed message would have carried), for its path to a trusted root.
        cert, *chain = load_certificates(data, source=str(path))
        issuers = (*chain, *issuers)
    else:
        cert = _variant(world, owner, certificate)
    world.add_contact(user, other, cert, issuers)

"""Then steps about reading: who can read a message, what its signature says, what Contacts hold.

Whether a recipient, or the sender through the sent copy, can read the message; the
signature's status, the chain it carries, the encryption certificate it names as
preferred and the capabilities it announces (RFC 8551 §2.5.2, §2.5.3); and the
contacts a person holds, with their certificates and capabilities.
"""

from __future__ import annotations

from typing import Any

from engine.cms.algorithms import ContentCipher, parse_enum
from engine.harness.scene import GENERATIONS
from engine.harness.steps.expectation import describe, fail, one_of
from engine.harness.steps.library import check
from engine.harness.world import World
from engine.mail.reading import ContactStatus, MessageStatus
from engine.smime.sender import AddressMatch
from engine.smime.verification_result import VerificationResult

_CIPHERS = tuple(c.value for c in ContentCipher)


_ABILITIES = ("can", "cannot")


@check(
    "{user:w} {ability:w} read the message",
    values={"ability": _ABILITIES},
    example={"user": "UserB", "ability": "can"},
)
def can_read(world: World, user: str, ability: str) -> None:
    if ability not in _ABILITIES:
        raise one_of("whether the user can read it", _ABILITIES, ability)
    readable = world.can_read_last_message(user)
    if readable != (ability == "can"):
        raise fail(
            f"{user} {ability} read the message", f"{user} {'can' if readable else 'cannot'}"
        )


_PRONOUNS = ("her", "his", "their")


@check("{user:w} can read {pronoun:w} own sent message", values={"pronoun": _PRONOUNS})
def reads_own(world: World, user: str, pronoun: str) -> None:
    if pronoun not in _PRONOUNS:
        raise one_of("a pronoun", _PRONOUNS, pronoun)
    person = world.user(user)
    received = person.client.open(person.client.sent[-1])
    if received.status is MessageStatus.CANNOT_DECRYPT or received.body is None:
        raise fail(f"{user} to read the sent copy", received.status.value)


@check(
    '{user:w} sees the signature as "{status}"',
    values={"status": [s.value for s in MessageStatus]},
    example={"status": "valid"},
)
def sees_signature(world: World, user: str, status: str) -> None:
    expected = parse_enum(MessageStatus, status, "signature status")
    received = world.opened.get(user.lower()) or world.open_last(user)
    if received.status is not expected:
        reasons = received.opened.signature.reasons if received.opened.signature else ()
        raise fail(f"signature status {status!r}", f"{received.status.value!r} {list(reasons)}")
    # The scenario expected this signature problem: the policy's finding about it is what
    # the scenario proves, shown in the report as expected, not as an error of the run.
    signature = received.opened.signature
    rule = None if signature is None else _signature_rule(signature)
    if rule is not None:
        world.expect_findings(f for f in world.findings if f.rule_id == rule)


def _signature_rule(signature: VerificationResult) -> str | None:
    """The message finding for the check a signature fails first (engine/policy/compliance.py):
    integrity, then trust, then the sender's address, the order of its status."""
    if not signature.intact:
        return "smime.msg.signature.intact"
    if not signature.trusted:
        return "smime.msg.signature.trust"
    if signature.address_match is AddressMatch.MISMATCH:
        return "smime.msg.signature.address"
    return None


def _signature(world: World) -> Any:
    received = world.last_opened()
    if received.opened.signature is None:
        raise fail("a signed message", "an unsigned one")
    return received.opened.signature


@check("the signature carries {user:w}'s certificate chain")
def carries_chain(world: World, user: str) -> None:
    signature = _signature(world)
    person = world.user(user)
    needed = [world.enrollment(user).signing.certificate, *person.organization.ca.chain]
    missing = [c.subject.rfc4514_string() for c in needed if c not in signature.certificates]
    if missing:
        raise fail("the signer's chain in the message", f"missing {missing}")


@check("the signature names {user:w}'s encryption certificate as preferred")
def names_preferred(world: World, user: str) -> None:
    expected = world.enrollment(user).encryption.certificate
    if _signature(world).encryption_certificate != expected:
        raise fail(f"{user}'s encryption certificate as preferred", "another or none")


@check(
    'the signature announces the capabilities "{capabilities}"',
    values={"capabilities": _CIPHERS},
    example={"capabilities": "aes-256-cbc, aes-128-cbc"},
)
def announces(world: World, capabilities: str) -> None:
    found = ", ".join(c.value for c in _signature(world).capabilities)
    if found != capabilities:
        raise fail(repr(capabilities), repr(found))


@check("a contact for {user:w} is added", example={"user": "UserB"})
def contact_added(world: World, user: str) -> None:
    """The last contact added, by Add to Contacts or captured on opening, is the user's."""
    outcome = world.last_contact
    address = world.address(user).lower()
    if (
        outcome is None
        or outcome.status is not ContactStatus.ADDED
        or outcome.contact is None
        or outcome.contact.address.lower() != address
    ):
        found = describe(outcome)
        if outcome is not None and outcome.contact is not None:
            found += f" for {outcome.contact.address}"
        raise fail(f"a contact for {address} added", found)


@check("{user:w} has {other:w} in Contacts", example={"other": "UserB"})
def has_contact(world: World, user: str, other: str) -> None:
    """The user's Contacts hold an entry for the other (processed yet or not)."""
    if world.address(other) not in world.user(user).client.contacts:
        raise fail(f"a contact for {other} in {user}'s Contacts", "none")


@check("{user:w} has no contact for {other:w}", example={"other": "UserB"})
def has_no_contact(world: World, user: str, other: str) -> None:
    contact = world.user(user).client.contacts.get(world.address(other))
    if contact is not None:
        raise fail(f"no contact for {other} in {user}'s Contacts", f"one for {contact.address}")


@check("adding the contact is refused")
def contact_refused(world: World) -> None:
    outcome = world.last_contact
    if outcome is None or outcome.status is not ContactStatus.REFUSED:
        raise fail("adding the contact refused", describe(outcome))


@check("{user:w}'s contact for {other:w} holds {owner:w}'s encryption certificate")
def contact_holds(world: World, user: str, other: str, owner: str) -> None:
    contact_holds_which(world, user, other, owner, "current")


@check(
    "{user:w}'s contact for {other:w} holds {owner:w}'s {which:w} encryption certificate",
    values={"which": GENERATIONS},
)
def contact_holds_which(world: World, user: str, other: str, owner: str, which: str) -> None:
    contact = world.user(user).client.contacts.get(world.address(other))
    expected = world.encryption_certificate(owner, which)
    if contact is None or contact.certificate != expected:
        found = "no contact" if contact is None else "another certificate"
        raise fail(f"{owner}'s {which} encryption certificate", found)


@check(
    '{user:w}\'s contact for {other:w} lists the capabilities "{capabilities}"',
    values={"capabilities": _CIPHERS},
    example={"capabilities": "aes-256-cbc, aes-128-cbc"},
)
def contact_capabilities(world: World, user: str, other: str, capabilities: str) -> None:
    contact = world.user(user).client.contacts.get(world.address(other))
    found = ", ".join(c.value for c in contact.capabilities) if contact else "no contact"
    if found != capabilities:
        raise fail(repr(capabilities), repr(found))

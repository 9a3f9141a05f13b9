"""Steps that send and answer: a message of each kind, a reply, an answer to a prompt.

Also what happens to a message between two mailboxes: tampering in transit, and a
partner's real message (.eml, RFC 5322) delivered from a file.
"""

from __future__ import annotations

import re

from engine.harness.steps.expectation import fail, one_of
from engine.harness.steps.library import setup_or_action
from engine.harness.world import World
from engine.mail.prompt import Choice
from engine.mail.sending import Draft, SendOutcome

BODY = "This is a test message from {name}."


def _names(text: str) -> list[str]:
    """'UserB', 'UserB and UserC', 'UserB, UserC and UserD' → names."""
    parts = re.split(r",\s*|\s+and\s+", text.strip())
    return [p for p in (part.strip() for part in parts) if p]


_KINDS = {
    "a plain": (False, False),
    "a signed": (True, False),
    "an encrypted": (False, True),
    "a signed and encrypted": (True, True),
}


def _send(world: World, sender: str, kind: str, to: tuple[str, ...], reply_to: str | None) -> None:
    if kind not in _KINDS:
        raise one_of("a kind of message", _KINDS, kind)
    sign_it, encrypt_it = _KINDS[kind]
    user = world.user(sender)
    draft = Draft(
        to=to,
        subject=f"{kind.split(' ', 1)[1].capitalize()} message from {user.name}",
        body=BODY.format(name=user.name),
        sign=sign_it,
        encrypt=encrypt_it,
        reply_to=None if reply_to is None else world.opened_by(sender).opened,
    )
    world.begin_send()
    world.record(user, user.client.send(draft))


@setup_or_action(
    "{sender:w} sends {kind} message to {recipients}",
    values={"kind": _KINDS},
    example={"kind": "an encrypted"},
)
def send(world: World, sender: str, kind: str, recipients: str) -> None:
    _send(world, sender, kind, tuple(world.address(n) for n in _names(recipients)), None)


@setup_or_action(
    "{sender:w} replies to {other:w} with {kind} message",
    values={"kind": _KINDS},
    example={"sender": "UserA", "other": "UserB", "kind": "an encrypted"},
)
def reply(world: World, sender: str, other: str, kind: str) -> None:
    """Answer the message last opened: its signer's certificate counts, as in Outlook."""
    received = world.opened_by(sender)
    if received.sender is None or received.sender.lower() != world.address(other).lower():
        raise fail(f"the last opened message to come from {other}", received.sender)
    _send(world, sender, kind, (received.sender,), other)


@setup_or_action(
    '{user:w} answers "{answer}"',
    values={"answer": [c.value for c in Choice]},
    example={"answer": "cancel"},
)
def answer(world: World, user: str, answer: str) -> None:
    person = world.user(user)
    choice = Choice.parse(answer)
    outcome = person.client.answer(choice)
    world.note_answer(user, choice)
    if isinstance(outcome, SendOutcome):
        world.record(person, outcome)
    else:
        world.note_contact(user, outcome)


@setup_or_action("the last message to {user:w} is tampered with in transit")
def tamper(world: World, user: str) -> None:
    person = world.user(user)
    marker = b"This is a test message"
    changed = person.organization.server.replace_last(
        person.address, lambda data: data.replace(marker, b"This is a best message", 1)
    )
    if marker not in changed[0] or changed[0] == changed[1]:
        raise fail("a message whose text can be changed", "no such text in the last message")


@setup_or_action('{user:w} receives the message in "{message}"')
def receives_file(world: World, user: str, message: str) -> None:
    """Deliver a real .eml file (a partner's message) to the user's mailbox."""
    path, data = world.read_file(message, "a message (.eml)")
    world.receive(user, data, source=path)

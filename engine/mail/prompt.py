"""Prompts a mail client shows, as data: exact text and the choices offered.

Sending or adding a contact never prints; it returns a :class:`Prompt` that the
caller (a scenario, a test, a person) answers with one of its choices.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence

from engine.errors import InputError

# The article's prompt, verbatim (Q197974, "MORE INFORMATION"; requirement KB-04).
NONE_CAN_DECRYPT = (
    "None of the recipients can process an encrypted message. "
    "You can either proceed with an unencrypted message or cancel the operation"
)


class Choice(enum.Enum):
    """An answer to a prompt. Values are the words scenarios use."""

    PROCEED_UNENCRYPTED = "proceed unencrypted"
    CANCEL = "cancel"
    CONTINUE_ENCRYPTED = "continue encrypted"
    SEND_UNENCRYPTED = "send unencrypted"
    UPDATE = "update"
    KEEP = "keep"

    @classmethod
    def parse(cls, text: str) -> Choice:
        key = " ".join(text.strip().lower().replace("-", " ").replace("_", " ").split())
        for member in cls:
            if member.value == key:
                return member
        choices = ", ".join(repr(m.value) for m in cls)
        raise InputError(f"a prompt choice ({choices})", repr(text))


class PromptKind(enum.Enum):
    NONE_CAN_DECRYPT = "none-can-decrypt"  # KB-04
    SOME_CANNOT_DECRYPT = "some-cannot-decrypt"  # IMP-04
    UPDATE_CONTACT = "update-contact"  # KB-11


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Prompt:
    """What the client asks, and what it will accept as an answer."""

    kind: PromptKind
    text: str
    choices: tuple[Choice, ...]
    subjects: tuple[str, ...] = ()  # the addresses the prompt is about

    def require(self, choice: Choice) -> Choice:
        if choice not in self.choices:
            offered = ", ".join(repr(c.value) for c in self.choices)
            raise InputError(f"one of the offered choices ({offered})", repr(choice.value))
        return choice


def none_can_decrypt() -> Prompt:
    return Prompt(
        kind=PromptKind.NONE_CAN_DECRYPT,
        text=NONE_CAN_DECRYPT,
        choices=(Choice.PROCEED_UNENCRYPTED, Choice.CANCEL),
    )


def some_cannot_decrypt(addresses: Sequence[str]) -> Prompt:
    names = ", ".join(addresses)
    return Prompt(
        kind=PromptKind.SOME_CANNOT_DECRYPT,
        text=(
            f"The following recipients cannot process an encrypted message: {names}. "
            "You can continue with an encrypted message they cannot read, "
            "send an unencrypted message, or cancel the operation"
        ),
        choices=(Choice.CONTINUE_ENCRYPTED, Choice.SEND_UNENCRYPTED, Choice.CANCEL),
        subjects=tuple(addresses),
    )


def update_contact(address: str) -> Prompt:
    return Prompt(
        kind=PromptKind.UPDATE_CONTACT,
        text=(
            f"A contact for {address} already exists. "
            "Do you want to update the existing contact with the new certificate information?"
        ),
        choices=(Choice.UPDATE, Choice.KEEP),
        subjects=(address,),
    )

"""A mail client: compose and send, open, add to Contacts — with prompts as outcomes.

One :class:`MailClient` per mailbox, made of its parts: its identity and its user's
settings (:mod:`engine.mail.settings`), composing and sending (:mod:`engine.mail.sending`),
opening received mail and capturing certificates into Contacts (:mod:`engine.mail.reading`).
It finds recipients' certificates where the article's client does (its organization's
directory, then Contacts, then the message being replied to), and when some cannot be used
it returns a :class:`~engine.mail.prompt.Prompt` instead of sending; :meth:`MailClient.answer`
continues with the choice made. Nothing leaves unencrypted without an explicit choice, and a
cancel sends nothing at all.

Everything a client's caller meets (drafts, send outcomes, received messages and their
statuses, contact outcomes, the client's errors) is re-exported here from the module that
defines it, as ``engine.client`` held it before the split.
"""

from __future__ import annotations

from engine.mail.plaintext import compose_text
from engine.mail.prompt import Choice, PromptKind
from engine.mail.reading import (
    ContactCandidate,
    ContactOutcome,
    ContactStatus,
    MessageStatus,
    ReadingClient,
    ReceivedMessage,
)
from engine.mail.sending import (
    Draft,
    EncryptionDecision,
    RecipientDecision,
    SendingClient,
    SendOutcome,
    SendStatus,
)
from engine.mail.settings import ClientError, PromptOpenError

# What a client's caller meets: the values it returns and the errors it raises, here as
# before the client was split (`engine.client` and `engine.mail.client` name them all).
__all__ = [
    "ClientError",
    "ContactCandidate",
    "ContactOutcome",
    "ContactStatus",
    "Draft",
    "EncryptionDecision",
    "MailClient",
    "MessageStatus",
    "PromptOpenError",
    "ReceivedMessage",
    "RecipientDecision",
    "SendOutcome",
    "SendStatus",
    "compose_text",
]


class MailClient(SendingClient, ReadingClient):
    """A user's mail client."""

    def answer(self, choice: Choice) -> SendOutcome | ContactOutcome:
        """Answer the open prompt."""
        prompt = self._prompt
        if prompt is None:
            raise ClientError("no prompt is open to answer")
        prompt.require(choice)
        self._prompt = None
        if prompt.kind is PromptKind.UPDATE_CONTACT:
            return self._answer_update(choice)
        return self._answer_send(choice)

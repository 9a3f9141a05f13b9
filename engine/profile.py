"""Client behaviour profiles: how a mail client acts, as data rather than code branches.

``outlook98`` is the article's client; ``thunderbird`` a modern one that
captures certificates by itself and refuses rather than prompts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from engine.algorithms import ContentCipher
from engine.errors import InputError


class Fallback(enum.Enum):
    """What the client does when recipients lack a usable certificate."""

    PROMPT = "prompt"  # ask: the article's behaviour (KB-04, IMP-04)
    REFUSE = "refuse"  # refuse to send encrypted, and say why


class Source(enum.Enum):
    """Where a client finds a recipient's certificate (KB-03, IMP-01)."""

    DIRECTORY = "directory"
    CONTACTS = "contacts"
    REPLY = "reply"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ClientProfile:
    name: str
    lookup_order: tuple[Source, ...]
    when_none_usable: Fallback
    when_some_usable: Fallback
    auto_capture: bool  # adds/updates contacts from valid signed mail by itself
    processing_delay: dt.timedelta  # KB-13: new or updated contact certificates wait this long
    encrypt_to_self: bool  # IMP-02
    opaque_inside_encryption: bool  # Outlook nests opaque signed-data; Thunderbird multipart/signed
    require_trusted_recipient: bool  # encrypt only to certificates that chain to a trusted CA
    capabilities: tuple[ContentCipher, ...]  # announced in signed mail, most preferred first

    def __post_init__(self) -> None:
        if not self.lookup_order:
            raise InputError("at least one certificate source", "none", source=self.name)
        if self.processing_delay < dt.timedelta(0):
            raise InputError("a non-negative processing delay", str(self.processing_delay))
        if not self.capabilities:
            raise InputError("at least one announced cipher", "none", source=self.name)

    def with_delay(self, delay: dt.timedelta) -> ClientProfile:
        return dataclasses.replace(self, processing_delay=delay)


OUTLOOK98 = ClientProfile(
    name="outlook98",
    lookup_order=(Source.DIRECTORY, Source.CONTACTS, Source.REPLY),
    when_none_usable=Fallback.PROMPT,
    when_some_usable=Fallback.PROMPT,
    auto_capture=False,
    processing_delay=dt.timedelta(minutes=5),
    encrypt_to_self=True,
    opaque_inside_encryption=True,
    # Outlook, like Thunderbird, will not encrypt to a certificate whose CA it does not
    # trust (IMP-03: the user is warned through the usual prompt instead).
    require_trusted_recipient=True,
    capabilities=(
        ContentCipher.AES_256_CBC,
        ContentCipher.AES_128_CBC,
        ContentCipher.DES_EDE3_CBC,
    ),
)

THUNDERBIRD = ClientProfile(
    name="thunderbird",
    lookup_order=(Source.DIRECTORY, Source.CONTACTS, Source.REPLY),
    when_none_usable=Fallback.REFUSE,
    when_some_usable=Fallback.REFUSE,
    auto_capture=True,
    processing_delay=dt.timedelta(0),
    encrypt_to_self=True,
    opaque_inside_encryption=False,
    require_trusted_recipient=True,
    capabilities=(
        ContentCipher.AES_256_GCM,
        ContentCipher.AES_128_GCM,
        ContentCipher.AES_256_CBC,
        ContentCipher.AES_128_CBC,
    ),
)

PROFILES: dict[str, ClientProfile] = {p.name: p for p in (OUTLOOK98, THUNDERBIRD)}
DEFAULT_PROFILE = OUTLOOK98


def profile_named(name: str) -> ClientProfile:
    try:
        return PROFILES[name.strip().lower()]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise InputError(f"a client profile ({known})", repr(name)) from None

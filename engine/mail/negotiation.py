"""Which content cipher to encrypt with, given what sender and recipients announced.

The strongest cipher the sender, every recipient and the policy have in common,
in the registry's strength order (:data:`engine.cms.algorithms.STRENGTH_ORDER`:
authenticated encryption first, then key length; RFC 8551 §2.7). A recipient
whose capabilities are unknown gets the RFC 8551 §2.7.1.2 default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from engine.cms.algorithms import STRENGTH_ORDER as STRENGTH_ORDER
from engine.cms.algorithms import ContentCipher

# Every cipher the engine encrypts with, in the registry's order.
ENCRYPTABLE = frozenset(STRENGTH_ORDER)
# RFC 8551 §2.7.1.2: nothing known of the recipient: AES-256 CBC, else AES-128 CBC.
UNKNOWN_CAPABILITIES: tuple[ContentCipher, ...] = (
    ContentCipher.AES_256_CBC,
    ContentCipher.AES_128_CBC,
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CipherChoice:
    cipher: ContentCipher | None
    reason: str


def choose_cipher(
    recipients: Iterable[tuple[str, Sequence[ContentCipher]]],
    *,
    sender: Sequence[ContentCipher],
    allowed: Iterable[ContentCipher] | None = None,
) -> CipherChoice:
    """The strongest cipher the sender and every recipient support (RFC 8551 §2.7.1, §2.7.3).

    ``recipients`` pairs each address with its announced capabilities; an
    empty sequence means unknown, and the §2.7.1.2 default applies.
    """
    allowed_set = ENCRYPTABLE if allowed is None else frozenset(allowed) & ENCRYPTABLE
    common = set(sender) & allowed_set
    unknown: list[str] = []
    for address, capabilities in recipients:
        if not capabilities:
            unknown.append(address)
            common &= set(UNKNOWN_CAPABILITIES)
        else:
            common &= set(capabilities)
    for cipher in STRENGTH_ORDER:
        if cipher in common:
            reason = "strongest cipher every recipient announced"
            if unknown:
                reason += f"; RFC 8551 §2.7.1.2 default for {', '.join(unknown)}"
            return CipherChoice(cipher=cipher, reason=reason)
    return CipherChoice(cipher=None, reason="no content-encryption algorithm common to all")

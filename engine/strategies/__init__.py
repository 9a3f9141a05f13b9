"""Hypothesis strategies for S/MIME test data: import them from here.

Plural nouns, keyword-only arguments checked when the strategy is made (not
when it is drawn), generation that reaches the edge cases. Strategies that
need keys take a key pool (``keys=``, an :class:`engine.pki.keys.KeyPool`) and draw
indices into its first few keys, so a run never generates hundreds of RSA
keys. ``policies()`` yields :class:`engine.policy.document.Policy` values read from
generated TOML; ``client_profiles()`` the client behaviour a policy configures.
This module only re-exports; the implementations live in ``engine.strategies``.

>>> from engine.strategies import mailboxes, message_bodies
"""

from __future__ import annotations

from engine.strategies.addresses import (
    OrganizationSpec,
    domains,
    local_parts,
    mailboxes,
    organizations,
)
from engine.strategies.bodies import BodyShape, MessageBody, message_bodies
from engine.strategies.certificates import (
    AddressVariant,
    IssuanceSpec,
    ValidityWindow,
    certificate_specs,
)
from engine.strategies.checks import StrategyArgumentError
from engine.strategies.keys import PooledKeys, key_sources, pooled_keys
from engine.strategies.mutation import der_length_offsets, mutations
from engine.strategies.policies import policies, policy_documents
from engine.strategies.profiles import client_profiles
from engine.strategies.recipients import (
    ContactState,
    RecipientKind,
    RecipientSpec,
    capability_lists,
    contact_book_states,
    recipient_sets,
)

__all__ = [
    "AddressVariant",
    "BodyShape",
    "ContactState",
    "IssuanceSpec",
    "MessageBody",
    "OrganizationSpec",
    "PooledKeys",
    "RecipientKind",
    "RecipientSpec",
    "StrategyArgumentError",
    "ValidityWindow",
    "capability_lists",
    "certificate_specs",
    "client_profiles",
    "contact_book_states",
    "der_length_offsets",
    "domains",
    "key_sources",
    "local_parts",
    "mailboxes",
    "message_bodies",
    "mutations",
    "organizations",
    "policies",
    "policy_documents",
    "pooled_keys",
    "recipient_sets",
]

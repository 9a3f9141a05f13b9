"""Client profiles: how a mail client behaves, as data (:class:`engine.mail.profile.ClientProfile`).

Until a policy module exists these are the engine's "policies": lookup
order, what happens when some or none of the recipients can decrypt, the
processing delay for new contacts (zero included), encrypting to self,
requiring a trusted recipient certificate and the announced ciphers.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from engine.cms.algorithms import ContentCipher
from engine.mail.profile import OUTLOOK98, THUNDERBIRD, ClientProfile, Fallback, Source
from engine.strategies.checks import check_choices

__all__ = ["client_profiles"]

_DELAYS = (dt.timedelta(0), dt.timedelta(minutes=5), dt.timedelta(seconds=1), dt.timedelta(hours=2))


def client_profiles(
    *, fallbacks: tuple[Fallback, ...] = (Fallback.PROMPT, Fallback.REFUSE)
) -> st.SearchStrategy[ClientProfile]:
    """The shipped profiles first, then any combination of their settings."""
    chosen = check_choices("fallbacks", fallbacks, tuple(Fallback))
    orders = st.permutations(tuple(Source)).flatmap(
        lambda full: st.integers(1, len(full)).map(lambda n: tuple(full[:n]))
    )
    generated = st.builds(
        ClientProfile,
        name=st.just("generated"),
        lookup_order=orders,
        when_none_usable=st.sampled_from(chosen),
        when_some_usable=st.sampled_from(chosen),
        auto_capture=st.booleans(),
        processing_delay=st.sampled_from(_DELAYS),
        encrypt_to_self=st.booleans(),
        opaque_inside_encryption=st.booleans(),
        require_trusted_recipient=st.booleans(),
        capabilities=st.lists(st.sampled_from(tuple(ContentCipher)), unique=True, min_size=1).map(
            tuple
        ),
    )
    shipped = [
        p
        for p in (OUTLOOK98, THUNDERBIRD)
        if p.when_none_usable in chosen and p.when_some_usable in chosen
    ]
    return st.one_of(st.sampled_from(shipped), generated) if shipped else generated

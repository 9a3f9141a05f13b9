"""Opening one message twice with the same inputs reuses the first result, and only then."""

from __future__ import annotations

import datetime as dt

from engine.harness.world import World
from engine.mail.client import Draft, MessageStatus
from engine.pki.keys import KeyPool


def test_same_inputs_reuse_the_result_changed_inputs_do_not(key_pool: KeyPool) -> None:
    world = World(keys=key_pool.view(), artifact_dir=None)
    world.add_organization("Contoso")
    world.add_organization("Fabrikam")
    sender = world.add_user("UserB", "Fabrikam")
    reader = world.add_user("UserA", "Contoso")
    outcome = sender.client.send(Draft(to=(reader.address,), subject="s", body="b", sign=True))
    assert outcome.message is not None
    first = reader.client.open(outcome.message)
    again = reader.client.open(outcome.message)
    assert again.opened is first.opened
    assert first.status is MessageStatus.UNTRUSTED_ISSUER
    reader.client.trust(world.organization("Fabrikam").ca.root)
    trusted = reader.client.open(outcome.message)
    assert trusted.opened is not first.opened and trusted.status is MessageStatus.VALID
    world.advance(dt.timedelta(days=400))  # the signer's certificate has expired by now
    later = reader.client.open(outcome.message)
    assert later.opened is not trusted.opened and later.status is not MessageStatus.VALID

"""The shared trust cache: the same results as validating, and a bounded size."""

from __future__ import annotations

import datetime as dt

from engine.clock import FixedClock
from engine.pki.authority import OrgCA
from engine.pki.keys import KeyPool
from engine.pki.trust import TrustCache, validate_certificate


def test_bounded_cache_agrees_with_validation_and_forgets_the_oldest(
    clock: FixedClock, key_pool: KeyPool
) -> None:
    ca = OrgCA.create("Contoso", "contoso.example", clock=clock, keys=key_pool)
    token = ca.issue_token("a@contoso.example")
    leaf = ca.enroll("a@contoso.example", token.secret).signing.certificate
    cache = TrustCache(size=2)
    times = [clock.now() + dt.timedelta(days=d) for d in (0, 1, 2, 400)]
    for at in times:
        expected = validate_certificate(leaf, intermediates=ca.chain, anchors=[ca.root], at=at)
        found = cache.validate(leaf, intermediates=ca.chain, anchors=[ca.root], at=at)
        assert found == expected
        again = cache.validate(leaf, intermediates=ca.chain, anchors=[ca.root], at=at)
        assert again is found
    assert not cache.validate(leaf, intermediates=ca.chain, anchors=[ca.root], at=times[3]).trusted
    assert len(cache) == 2
    first = cache.validate(leaf, intermediates=ca.chain, anchors=[ca.root], at=times[0])
    assert first.trusted and len(cache) == 2


def test_a_cache_of_no_results_is_refused() -> None:
    import pytest

    from engine.errors import InputError

    with pytest.raises(InputError, match="at least 1"):
        TrustCache(size=0)

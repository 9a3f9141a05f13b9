"""The public strategies: what they generate is valid where it should be, and bad
arguments fail at the call (eagerly), naming the argument and what is valid."""

from __future__ import annotations

import datetime as dt
import re
from email.utils import getaddresses

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given
from hypothesis import strategies as st

from engine.clock import FixedClock
from engine.mail.contacts import normalize_address
from engine.pki.authority import CertificateSpec, OrgCA
from engine.pki.credential import certificate_emails
from engine.pki.keys import KeyPool, KeyType
from engine.policy.document import Policy
from engine.smime.message import split_message
from engine.strategies import (
    IssuanceSpec,
    MessageBody,
    StrategyArgumentError,
    certificate_specs,
    client_profiles,
    der_length_offsets,
    mailboxes,
    message_bodies,
    mutations,
    organizations,
    policies,
    recipient_sets,
)
from tests.property.world import EPOCH


@given(address=mailboxes())
def test_mailboxes_are_valid_for_the_engine_the_ca_and_rfc5322_headers(address: str) -> None:
    normalize_address(address)
    CertificateSpec(email=address)  # the CA's own address check
    assert [a for _, a in getaddresses([f"Someone <{address}>"])] == [address]
    assert address.isascii()  # A-labels only (RFC 8398 §3: rfc822Name is ASCII)


@given(organization=organizations())
def test_organizations_have_domains_the_ca_accepts(key_pool: KeyPool, organization: object) -> None:
    from engine.mail.transport import MailNetwork
    from engine.strategies import PooledKeys

    org = organization.build(  # type: ignore[attr-defined]
        clock=FixedClock(EPOCH), network=MailNetwork(), keys=PooledKeys(key_pool)
    )
    assert org.ca.root.subject


@given(data=st.data())
def test_every_certificate_spec_can_be_issued(key_pool: KeyPool, data: st.DataObject) -> None:
    address = data.draw(mailboxes(domain="contoso.example"), label="address")
    issued: IssuanceSpec = data.draw(
        certificate_specs(keys=key_pool, at=EPOCH, email=address), label="spec"
    )
    ca = OrgCA.create(
        "Contoso",
        "contoso.example",
        clock=FixedClock(EPOCH),
        keys=key_pool,
        key_type=KeyType.EC_P256,
    )
    credential = ca.issue(issued.certificate)
    emails = certificate_emails(credential.certificate)
    if issued.address.value == "match":
        assert emails[:1] == (address,)
    assert credential.certificate.public_bytes(serialization.Encoding.DER)


@given(body=message_bodies())
def test_message_bodies_split_into_headers_and_an_entity(body: MessageBody) -> None:
    headers, entity = split_message(body.message)
    assert ("Subject" in dict(headers)) and entity.startswith(b"Content-")


@given(policy=policies())
def test_policies_are_read_through_the_policy_loader(policy: Policy) -> None:
    profile = policy.client_profile()
    assert profile.capabilities[0] is policy.algorithms.preferred_content_encryption


@given(data=st.data())
def test_a_run_reuses_a_few_pooled_keys(key_pool: KeyPool, data: st.DataObject) -> None:
    strategy = certificate_specs(
        keys=key_pool, at=EPOCH, pool_size=2, key_types=(KeyType.RSA_2048, KeyType.EC_P256)
    )
    specs = data.draw(st.lists(strategy, min_size=10, max_size=30), label="specs")
    keys = {
        spec.certificate.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        for spec in specs
        if spec.certificate.key is not None
    }
    assert len(keys) <= 4  # two of each type, however many certificates


def test_der_length_offsets_find_the_structure(key_pool: KeyPool) -> None:
    ca = OrgCA.create(
        "C", "c.example", clock=FixedClock(EPOCH), keys=key_pool, key_type=KeyType.EC_P256
    )
    der = ca.root.public_bytes(serialization.Encoding.DER)
    offsets = der_length_offsets(der)
    assert offsets[0] == 1 and len(offsets) > 20


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda pool: certificate_specs(keys=pool, at=EPOCH, versions=(2,)),
            "versions contains 2, but only 1, 3 are valid",
        ),
        (lambda pool: certificate_specs(keys=object(), at=EPOCH), "keys=<object"),
        (
            lambda pool: certificate_specs(keys=pool, at=EPOCH.replace(tzinfo=None)),
            "must be timezone-aware",
        ),
        (
            lambda pool: certificate_specs(keys=pool, at=EPOCH + dt.timedelta(microseconds=5)),
            "must be a whole second",
        ),
        (
            lambda pool: recipient_sets(keys=pool, at=EPOCH, min_size=5, max_size=2),
            "min_size=5 is more than max_size=2",
        ),
        (
            lambda pool: recipient_sets(keys=pool, at=EPOCH, max_size=99),
            "max_size=99, but only 1 to 16 are valid",
        ),
        (
            lambda pool: recipient_sets(keys=pool, at=EPOCH, kinds=()),
            "kinds=(), but at least one choice is needed",
        ),
        (lambda pool: mailboxes(domain="a@b"), "domain='a@b'"),
        (lambda pool: message_bodies(line_ends=("cr",)), "line_ends contains 'cr'"),
        (lambda pool: mutations(of=[]), "of=[]"),
        (lambda pool: mutations(of=b"x", max_mutations=0), "max_mutations=0"),
        (lambda pool: client_profiles(fallbacks=()), "fallbacks=()"),
        (lambda pool: organizations(key_types=("rsa",)), "key_types contains 'rsa'"),
        (lambda pool: policies(builtins=1), "builtins=1, but only True or False"),
    ],
)
def test_bad_arguments_fail_eagerly_with_a_plain_message(
    key_pool: KeyPool, make: object, message: str
) -> None:
    with pytest.raises(StrategyArgumentError, match=re.escape(message)):
        make(key_pool)  # type: ignore[operator]  # raised here, before any draw

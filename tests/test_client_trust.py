"""Trust in the mail client (IMP-03): whom trust on first use may trust, and what the
client does with a recipient whose certificate does not chain to a root it trusts.

- Trust on first use trusts at most the root of the verified signer's own path, only for
  an intact, address-matched signature, and never for the user's own organization.
- A recipient certificate that does not chain to a trusted root is not encrypted to:
  listed as unusable, prompted or refused as the profile says, reported by the policy as
  ``smime.decision.untrusted`` (not ``unenrolled``), shown as not trusted in the record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from engine.clock import Clock
from engine.harness.recording import decision_records
from engine.harness.steps import artifacts, clients, contacts, organizations, outcomes, sending
from engine.harness.world import World
from engine.mail.client import MessageStatus, SendStatus
from engine.mail.contacts import Contact
from engine.mail.profile import OUTLOOK98, THUNDERBIRD
from engine.pki.authority import CertificateSpec, OrgCA
from engine.pki.credential import Credential, certificate_emails
from engine.pki.keys import KeyPool
from engine.policy.compliance import check_decision
from engine.policy.document import load_policy
from engine.smime.signing import sign

FEATURES = Path(__file__).resolve().parent.parent / "features"
TOFU = load_policy(str(FEATURES / "policies" / "trust-on-first-use.toml"))
BODY = b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nHello from outside.\r\n"


def _world(key_pool: KeyPool, *, policy: str | None = None) -> World:
    world = World(keys=key_pool.view())
    if policy is not None:
        world.choose_policy(TOFU if policy == "tofu" else load_policy(policy))
    organizations.two_organizations(world, "Contoso", "Fabrikam")
    organizations.enrolled(world, "UserA", "Contoso")
    organizations.enrolled(world, "UserB", "Fabrikam")
    return world


def _signed_by(credential: Credential, clock: Clock) -> bytes:
    """A message from the credential's own address, signed with it."""
    sender = certificate_emails(credential.certificate)[0]
    message = f"From: {sender}\r\nTo: usera@contoso.example\r\nSubject: hi\r\n".encode() + BODY
    return sign(message, credential, clock=clock)


def _deliver(world: World, data: bytes, tmp_path: Path, name: str = "outside") -> None:
    world.receive("UserA", data, source=tmp_path / f"{name}.eml")


def _roots(world: World) -> list[str]:
    return [a.subject.rfc4514_string() for a in world.user("UserA").client.trust_store]


# --- trust on first use -----------------------------------------------------------------


def test_first_use_trusts_the_partner_root_of_a_valid_signature(key_pool: KeyPool) -> None:
    world = _world(key_pool, policy="tofu")
    sending.send(world, "UserB", "a signed", "UserA")
    received = world.open_last("UserA")
    assert received.status is MessageStatus.VALID
    client = world.user("UserA").client
    assert client.first_use_anchors == [world.organization("Fabrikam").ca.root]


def test_first_use_needs_the_sender_to_match_the_certificate(key_pool: KeyPool) -> None:
    """An intact signature whose certificate names someone else teaches the client nothing."""
    world = _world(key_pool, policy="tofu")
    contacts.certificate_names_other(world, "UserB", "userx@fabrikam.example")
    sending.send(world, "UserB", "a signed", "UserA")
    received = world.open_last("UserA")
    assert received.status is MessageStatus.UNTRUSTED_ISSUER
    assert world.organization("Fabrikam").ca.root not in world.user("UserA").client.trust_store


def test_first_use_needs_an_intact_message(key_pool: KeyPool) -> None:
    world = _world(key_pool, policy="tofu")
    sending.send(world, "UserB", "a signed", "UserA")
    sending.tamper(world, "UserA")
    assert world.open_last("UserA").status is MessageStatus.TAMPERED
    assert world.user("UserA").client.first_use_anchors == []


def test_first_use_never_trusts_the_root_of_a_path_that_fails(
    key_pool: KeyPool, tmp_path: Path
) -> None:
    """An expired signer's root is not trusted on first use; the message shows why it is
    not valid (its own path's failure), not merely an unknown issuer."""
    world = _world(key_pool, policy="tofu")
    partner = OrgCA.create("Partner", "partner.example", clock=world.clock, keys=world.keys)
    now = world.clock.now()
    brief = partner.issue(
        CertificateSpec(email="carol@partner.example", not_after=now + dt.timedelta(days=1))
    )
    signed = _signed_by(brief, world.clock)
    world.advance(dt.timedelta(days=2))
    _deliver(world, signed, tmp_path)
    assert world.open_last("UserA").status is MessageStatus.EXPIRED
    client = world.user("UserA").client
    assert partner.root not in client.trust_store
    assert client.first_use_anchors == []


def test_first_use_never_trusts_a_root_for_the_users_own_domain(
    key_pool: KeyPool, tmp_path: Path
) -> None:
    """An attacker's own root, carried with a certificate for ceo@contoso.example, is not
    trusted by a Contoso user: the message stays untrusted."""
    world = _world(key_pool, policy="tofu")
    evil = OrgCA.create("Evil", "evil.example", clock=world.clock, keys=world.keys)
    ceo = evil.issue(CertificateSpec(email="ceo@contoso.example"))
    forged = _signed_by(ceo, world.clock)
    _deliver(world, forged, tmp_path)
    received = world.open_last("UserA")
    assert received.opened.signature is not None
    assert received.opened.signature.address_match.value == "match"
    assert received.status is MessageStatus.UNTRUSTED_ISSUER
    assert evil.root not in world.user("UserA").client.trust_store


def test_first_use_never_trusts_a_root_named_like_a_trusted_one(
    key_pool: KeyPool, tmp_path: Path
) -> None:
    """A self-made "Contoso Root CA" for another domain is not taken on first use."""
    world = _world(key_pool, policy="tofu")
    fake = OrgCA.create("Contoso", "evil.example", clock=world.clock, keys=world.keys)
    assert fake.root.subject == world.organization("Contoso").ca.root.subject
    assert fake.root != world.organization("Contoso").ca.root
    mallory = fake.issue(CertificateSpec(email="mallory@evil.example"))
    signed = _signed_by(mallory, world.clock)
    _deliver(world, signed, tmp_path)
    # Path building meets the trusted root's name with another key: invalid, not valid.
    assert world.open_last("UserA").status is MessageStatus.INVALID
    assert fake.root not in world.user("UserA").client.trust_store


def test_a_root_trusted_on_first_use_does_not_vouch_for_the_users_own_domain(
    key_pool: KeyPool, tmp_path: Path
) -> None:
    """Once a partner's root is trusted on first use, a certificate it issues for the
    user's own domain is still not trusted: that root vouches for the partner only."""
    world = _world(key_pool, policy="tofu")
    partner = OrgCA.create("Partner", "partner.example", clock=world.clock, keys=world.keys)
    carol = partner.issue(CertificateSpec(email="carol@partner.example"))
    first = _signed_by(carol, world.clock)
    _deliver(world, first, tmp_path, "first")
    assert world.open_last("UserA").status is MessageStatus.VALID
    client = world.user("UserA").client
    assert partner.root in client.trust_store

    ceo = partner.issue(CertificateSpec(email="ceo@contoso.example"))
    forged = _signed_by(ceo, world.clock)
    _deliver(world, forged, tmp_path, "forged")
    assert world.open_last("UserA").status is MessageStatus.UNTRUSTED_ISSUER
    # Nor is such a certificate encrypted to.
    now = world.clock.now()
    client.contacts.put(
        Contact(address="ceo@contoso.example", certificate=ceo.certificate,
                issuers=(partner.root,), added_at=now, processed_at=now)
    )  # fmt: skip
    sending.send(world, "UserA", "an encrypted", "ceo@contoso.example")
    decision = world.require_send().decision
    assert decision is not None and decision.recipients[0].untrusted
    assert not decision.recipients[0].usable


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command line")
def test_first_use_trusts_only_the_root_of_the_signers_path(
    key_pool: KeyPool, tmp_path: Path
) -> None:
    """A message may carry any certificate: a second, unrelated root it carries (built
    here with ``openssl cms -certfile``) is not trusted with the signer's own."""
    world = _world(key_pool, policy="tofu")
    stowaway = OrgCA.create("Stowaway", "stowaway.example", clock=world.clock, keys=world.keys)
    userb = world.enrollment("UserB")
    fabrikam = world.organization("Fabrikam").ca
    pem = serialization.Encoding.PEM
    (tmp_path / "signer.pem").write_bytes(userb.signing.certificate.public_bytes(pem))
    (tmp_path / "signer.key").write_bytes(
        userb.signing.private_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (tmp_path / "extra.pem").write_bytes(
        fabrikam.root.public_bytes(pem) + stowaway.root.public_bytes(pem)
    )
    (tmp_path / "body.txt").write_bytes(BODY)
    signed = subprocess.run(
        ["openssl", "cms", "-sign", "-signer", tmp_path / "signer.pem",
         "-inkey", tmp_path / "signer.key", "-certfile", tmp_path / "extra.pem",
         "-in", tmp_path / "body.txt", "-from", "userb@fabrikam.example",
         "-to", "usera@contoso.example", "-subject", "hi"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    _deliver(world, signed, tmp_path)
    received = world.open_last("UserA")
    assert received.opened.signature is not None
    assert stowaway.root in received.opened.signature.certificates
    assert received.status is MessageStatus.VALID
    client = world.user("UserA").client
    assert stowaway.root not in client.trust_store
    assert client.first_use_anchors == [fabrikam.root]


# --- recipients whose certificate does not chain to a trusted root ---------------------


def _untrusted_contact(world: World) -> None:
    """UserA adds UserB from a signed message without ever trusting Fabrikam's CA."""
    contacts.contact_from_earlier(world, "UserA", "UserB")
    assert world.user("UserA").client.contacts.get("userb@fabrikam.example") is not None


@pytest.mark.parametrize("policy", [None, "outlook98", "rfc8551"])
def test_a_prompting_client_warns_instead_of_sending(key_pool: KeyPool, policy: str | None) -> None:
    world = _world(key_pool, policy=policy)
    _untrusted_contact(world)
    sending.send(world, "UserA", "an encrypted", "UserB")
    outcome = world.require_send()
    assert outcome.status is SendStatus.PROMPT, outcome
    assert world.sent_since_send_began() == 0
    outcomes.unusable_because(world, "UserB", "does not chain to a trusted root")
    outcomes.warned_untrusted_ca(world, "UserA", "Fabrikam")
    findings = world.findings_of_last_send()
    rules = {(f.rule_id, f.severity.value) for f in findings}
    assert ("smime.decision.untrusted", "warning") in rules
    assert not any(f.rule_id == "smime.decision.unenrolled" for f in findings)


def test_strict_refuses_as_untrusted_not_unenrolled(key_pool: KeyPool) -> None:
    world = _world(key_pool, policy="strict")
    _untrusted_contact(world)
    sending.send(world, "UserA", "an encrypted", "UserB")
    outcome = world.require_send()
    assert outcome.status is SendStatus.REFUSED
    assert "does not chain to a trusted root" in (outcome.reason or "")
    outcomes.warned_untrusted_ca(world, "UserA", "Fabrikam")
    findings = world.findings_of_last_send()
    assert [(f.rule_id, f.severity.value) for f in findings] == [
        ("smime.decision.untrusted", "error")
    ]
    assert "IMP-03" in findings[0].citation


def test_the_decision_record_shows_the_path_as_not_trusted(key_pool: KeyPool) -> None:
    world = _world(key_pool)
    _untrusted_contact(world)
    sending.send(world, "UserA", "an encrypted", "UserB")
    # A scenario may end at the prompt: the decision is on record all the same.
    waiting = decision_records(world, None)[-1]
    assert (waiting.sender, waiting.outcome) == ("usera@contoso.example", "prompt")
    sending.answer(world, "UserA", "proceed unencrypted")
    records = decision_records(world, None)
    assert [r.outcome for r in records if r.sender == "usera@contoso.example"] == ["sent"]
    for record in (waiting, records[-1]):
        recipient = record.recipients[0]
        assert not recipient.usable and recipient.trusted is False
        assert recipient.trust is not None and recipient.trust.startswith("not trusted")
        assert recipient.trust_path[-1].endswith("(not trusted)")


def test_trusting_the_authority_makes_the_partner_usable(key_pool: KeyPool) -> None:
    world = _world(key_pool)
    _untrusted_contact(world)
    clients.trusts(world, "UserA", "Fabrikam")
    sending.send(world, "UserA", "an encrypted", "UserB")
    assert world.require_send().status is SendStatus.SENT
    assert not any(f.rule_id == "smime.decision.untrusted" for f in world.findings_of_last_send())
    recipient = decision_records(world, None)[-1].recipients[0]
    assert (recipient.trusted, recipient.trust) == (True, "trusted")
    assert recipient.trust_path[-1] == "Fabrikam Root CA"


def test_trust_on_first_use_is_the_way_around_and_says_so(key_pool: KeyPool) -> None:
    world = _world(key_pool, policy="tofu")
    _untrusted_contact(world)  # the signed message's root was trusted on first use
    sending.send(world, "UserA", "an encrypted", "UserB")
    assert world.require_send().status is SendStatus.SENT
    recipient = decision_records(world, None)[-1].recipients[0]
    assert recipient.trusted is True
    assert recipient.trust is not None and "first use" in recipient.trust
    assert recipient.trust_path[-1] == "Fabrikam Root CA (trusted on first use)"


def test_a_profile_that_encrypts_anyway_is_still_reported(key_pool: KeyPool) -> None:
    """A hand-made profile may not require a trusted recipient; the policy still says so."""
    world = _world(key_pool)
    _untrusted_contact(world)
    client = world.user("UserA").client
    client.profile = dataclasses.replace(OUTLOOK98, require_trusted_recipient=False)
    sending.send(world, "UserA", "an encrypted", "UserB")
    outcome = world.require_send()
    assert outcome.status is SendStatus.SENT and outcome.decision is not None
    assert outcome.decision.recipients[0].untrusted
    found = check_decision(outcome.decision, load_policy("strict"))
    assert [f.rule_id for f in found if f.rule_id.startswith("smime.decision.")] == [
        "smime.decision.untrusted"
    ]
    assert "encrypts to it anyway" in found[0].message


def test_the_built_in_profiles_require_a_trusted_recipient() -> None:
    assert OUTLOOK98.require_trusted_recipient and THUNDERBIRD.require_trusted_recipient


def _partner_pki(folder: Path) -> None:
    """A partner PKI the project did not make (root, intermediate, leaf for UserB's
    address), built with ``cryptography``'s X.509 builders, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    from engine.harness.scene import SCENARIO_EPOCH

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def build(
        subject: str,
        issuer: str,
        key: ec.EllipticCurvePrivateKey,
        signer: ec.EllipticCurvePrivateKey,
        *,
        ca: bool,
        email: str | None = None,
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(name(issuer))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(SCENARIO_EPOCH - dt.timedelta(days=30))
            .not_valid_after(SCENARIO_EPOCH + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            usage = dict.fromkeys(
                ("digital_signature", "content_commitment", "key_encipherment",
                 "data_encipherment", "key_agreement", "encipher_only", "decipher_only"),
                False,
            )  # fmt: skip
            builder = builder.add_extension(
                x509.KeyUsage(key_cert_sign=True, crl_sign=True, **usage), critical=True
            )
        else:
            assert email is not None
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False
            ).add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    root_key, sub_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = build("Partner Root", "Partner Root", root_key, root_key, ca=True)
    sub = build("Partner Mail CA", "Partner Root", sub_key, root_key, ca=True)
    leaf = build("UserB", "Partner Mail CA", leaf_key, sub_key, ca=False,
                 email="userb@fabrikam.example")  # fmt: skip
    pem = serialization.Encoding.PEM
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "root.pem").write_bytes(root.public_bytes(pem))
    (folder / "userb.pem").write_bytes(leaf.public_bytes(pem) + sub.public_bytes(pem))


def test_a_partner_certificate_from_a_file_is_used_once_its_root_is_trusted(
    key_pool: KeyPool, tmp_path: Path
) -> None:
    """A certificate of another PKI (with its intermediate, in one PEM bundle) is not
    encrypted to until the partner's root is trusted, then it is."""
    _partner_pki(tmp_path / "partner")
    world = _world(key_pool)
    world.base_dir = tmp_path
    contacts.contact_from_file(world, "UserA", "UserB", "partner/userb.pem")
    sending.send(world, "UserA", "an encrypted", "UserB")
    assert world.require_send().status is SendStatus.PROMPT
    outcomes.unusable_because(world, "UserB", "does not chain to a trusted root")
    sending.answer(world, "UserA", "cancel")
    artifacts.trusts_file(world, "UserA", "partner/root.pem")
    sending.send(world, "UserA", "an encrypted", "UserB")
    outcomes.sent_encrypted(world)
    recipient = decision_records(world, None)[-1].recipients[0]
    assert recipient.trust_path == ("UserB", "Partner Mail CA", "Partner Root")

"""The step vocabulary: business-language Gherkin steps over the engine's model.

Each step is a thin adapter: it parses names from the sentence, calls the
model through :class:`~engine.harness.world.World`, and checks what a person
would check. Steps that read naturally as both setup and action are
registered as Given and When.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import inspect
import re
from collections.abc import Callable
from typing import Any, TypeVar

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from pytest_bdd import given, parsers, then, when

from engine.algorithms import DigestAlgorithm, parse_enum
from engine.authority import CertificatePurpose, CertificateSpec, Enrollment, KeyUsageBit
from engine.client import (
    ContactOutcome,
    ContactStatus,
    Draft,
    MessageStatus,
    SendOutcome,
    SendStatus,
)
from engine.contacts import Contact
from engine.credential import (
    certificate_emails,
    load_certificate,
    load_certificates,
    load_pkcs12,
)
from engine.errors import EnrollmentError, InputError
from engine.findings import Finding, Severity
from engine.harness.world import User, World
from engine.keys import KeyType
from engine.policy import BUILTIN, Policy, load_policy
from engine.profile import profile_named
from engine.prompt import Choice
from engine.revocation import RevocationReason

F = TypeVar("F", bound=Callable[..., Any])

BODY = "This is a test message from {name}."


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StepEntry:
    """One sentence of the vocabulary: its keywords, pattern and what it does."""

    keywords: tuple[str, ...]
    pattern: str
    doc: str


STEPS: list[StepEntry] = []

_KEYWORDS = {"given": given, "when": when, "then": then}


@dataclasses.dataclass(frozen=True, slots=True)
class _Definition:
    pattern: str
    parser: parsers.parse
    func: Callable[..., Any]


@dataclasses.dataclass(frozen=True, slots=True)
class _Sentence:
    """A step's text matched to its definition, with the values parsed from it."""

    definition: _Definition
    arguments: tuple[tuple[str, Any], ...]


_DEFINITIONS: dict[str, list[_Definition]] = {keyword: [] for keyword in _KEYWORDS}


@functools.lru_cache(maxsize=4096)
def _match(keyword: str, text: str) -> _Sentence | None:
    """The definition for a step's text, parsed once per distinct sentence.

    When several patterns match, the last in pattern order wins: the one pytest-bdd
    chose when each pattern was a fixture of its own (named after the pattern).
    """
    for definition in sorted(_DEFINITIONS[keyword], key=lambda d: d.pattern, reverse=True):
        if definition.parser.is_matching(text):
            parsed = definition.parser.parse_arguments(text)
            return _Sentence(definition, tuple(parsed.items()))
    return None


class _Vocabulary(parsers.StepParser):
    """One pytest-bdd step per keyword for the whole vocabulary.

    pytest-bdd looks a step up by asking every fixture whether it parses the text;
    one fixture per keyword instead of one per sentence keeps that lookup short.
    """

    def __init__(self, keyword: str) -> None:
        super().__init__(f"smime_harness_vocabulary_{keyword}")
        self.keyword = keyword

    def is_matching(self, name: str) -> bool:
        return _match(self.keyword, name) is not None

    def parse_arguments(self, name: str) -> dict[str, Any] | None:
        found = _match(self.keyword, name)
        return None if found is None else {"sentence": found}


def _perform(world: World, sentence: _Sentence) -> None:
    sentence.definition.func(world=world, **dict(sentence.arguments))


# pytest-bdd asks for the signature at every step: computed once here.
_perform.__signature__ = inspect.signature(_perform)  # type: ignore[attr-defined]

for _keyword, _decorator in _KEYWORDS.items():
    _decorator(_Vocabulary(_keyword))(_perform)


def _register(keywords: tuple[str, ...], pattern: str) -> Callable[[F], F]:
    def register(func: F) -> F:
        parser = parsers.parse(pattern)
        filled = set(parser.parser.named_fields)
        fixtures = [
            name
            for name, parameter in inspect.signature(func).parameters.items()
            if name not in filled and parameter.default is parameter.empty
        ]
        if fixtures != ["world"]:  # _perform passes the world, and the sentence fills the rest
            raise TypeError(f"step {pattern!r} must take world and its placeholders only")
        for keyword in keywords:
            _DEFINITIONS[keyword].append(_Definition(pattern, parser, func))
        _match.cache_clear()
        doc = (func.__doc__ or "").strip().splitlines()
        STEPS.append(StepEntry(keywords=keywords, pattern=pattern, doc=doc[0] if doc else ""))
        return func

    return register


def setup_or_action(pattern: str) -> Callable[[F], F]:
    """A step that reads naturally both as setup (Given) and as action (When)."""
    return _register(("given", "when"), pattern)


def action(pattern: str) -> Callable[[F], F]:
    return _register(("when",), pattern)


def check(pattern: str) -> Callable[[F], F]:
    return _register(("then",), pattern)


def _names(text: str) -> list[str]:
    """'UserB', 'UserB and UserC', 'UserB, UserC and UserD' → names."""
    parts = re.split(r",\s*|\s+and\s+", text.strip())
    return [p for p in (part.strip() for part in parts) if p]


class ExpectationError(AssertionError):
    """A Then step's expectation did not hold; the report shows expected and actual apart."""

    def __init__(self, expected: str, actual: str) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(f"expected {expected}, found {actual}")


def _fail(expected: str, found: object) -> ExpectationError:
    return ExpectationError(expected, str(found))


# --- organizations and enrollment -----------------------------------------


@setup_or_action("{first:w} and {second:w} each run their own key management")
def two_organizations(world: World, first: str, second: str) -> None:
    world.add_organization(first)
    world.add_organization(second)


@setup_or_action("{org:w} runs its own key management")
def one_organization(world: World, org: str) -> None:
    world.add_organization(org)


@setup_or_action("{org:w} runs its own key management for the domain {domain}")
def organization_with_domain(world: World, org: str, domain: str) -> None:
    """An organization whose mail domain is given (by default it is <org>.example, which
    profiles for publicly trusted certificates refuse as an internal name)."""
    world.add_organization(org, domain=domain)


@setup_or_action("{org:w} runs its own key management with an intermediate CA")
def organization_with_intermediate(world: World, org: str) -> None:
    world.add_organization(org, intermediate=True)


@setup_or_action("{user:w} is enrolled at {org:w}")
def enrolled(world: World, user: str, org: str) -> None:
    world.add_user(user, org)


_ARRANGEMENTS: dict[str, dict[str, Any]] = {
    "a dual-use certificate": {},
    "separate signing and encryption certificates": {"separate": True},
    "an EC P-256 key": {"key_type": KeyType.EC_P256},
    "an RSA 3072 key": {"key_type": KeyType.RSA_3072},
}


@setup_or_action("{user:w} is enrolled at {org:w} with {arrangement}")
def enrolled_with(world: World, user: str, org: str, arrangement: str) -> None:
    try:
        options = _ARRANGEMENTS[arrangement]
    except KeyError:
        known = "; ".join(_ARRANGEMENTS)
        raise InputError(f"an arrangement ({known})", repr(arrangement)) from None
    world.add_user(user, org, **options)


@setup_or_action("{user:w} has a mailbox at {org:w} but is not enrolled")
def unenrolled(world: World, user: str, org: str) -> None:
    world.add_user(user, org, enrolled=False)


@action("{org:w} issues an enrollment token for {user:w}")
def issue_token(world: World, org: str, user: str) -> None:
    organization = world.organization(org)
    address = organization.add_mailbox(user)
    world.tokens[user.lower()] = organization.ca.issue_token(address).secret


@action("{user:w} enrolls at {org:w} with that token")
def enroll_with_token(world: World, user: str, org: str) -> None:
    organization = world.organization(org)
    organization.ca.enroll(organization.address(user), world.tokens[user.lower()])


@check("enrolling {user:w} at {org:w} again with the same token is refused")
def token_reuse_refused(world: World, user: str, org: str) -> None:
    organization = world.organization(org)
    try:
        organization.ca.enroll(organization.address(user), world.tokens[user.lower()])
    except EnrollmentError as exc:
        assert "already used" in str(exc), str(exc)
        return
    raise _fail("the second enrollment with one token to be refused", "it was accepted")


@check("{user:w} holds an X.509 v3 certificate issued by {org:w} for {address}")
def holds_v3(world: World, user: str, org: str, address: str) -> None:
    enrollment = world.enrollment(user)
    organization = world.organization(org)
    for credential in {id(c): c for c in (enrollment.signing, enrollment.encryption)}.values():
        cert = credential.certificate
        if cert.version is not x509.Version.v3:
            raise _fail("an X.509 v3 certificate", cert.version.name)
        if cert.issuer != organization.ca.issuer.certificate.subject:
            raise _fail(f"issuer {organization.name}", cert.issuer.rfc4514_string())
        if address not in certificate_emails(cert):
            raise _fail(f"a certificate for {address}", certificate_emails(cert))


@check("{user:w}'s encryption certificate allows {usage}")
def encryption_usage(world: World, user: str, usage: str) -> None:
    cert = world.enrollment(user).encryption.certificate
    key_usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    attribute = usage.strip().replace(" ", "_")
    if not getattr(key_usage, attribute, False):
        raise _fail(f"key usage {usage}", key_usage)


# --- clients, trust, profiles, time ----------------------------------------


@setup_or_action("{user:w} trusts {org:w}'s certificate authority")
def trusts(world: World, user: str, org: str) -> None:
    world.user(user).client.trust(world.organization(org).ca.root)


@setup_or_action("{user:w} no longer trusts {org:w}'s certificate authority")
def distrusts(world: World, user: str, org: str) -> None:
    client = world.user(user).client
    root = world.organization(org).ca.root
    client.trust_store[:] = [a for a in client.trust_store if a != root]


@setup_or_action('every client uses the "{profile}" profile')
def every_client_profile(world: World, profile: str) -> None:
    world.default_profile = profile_named(profile)
    for user in world.users.values():
        user.client.profile = world.default_profile


@setup_or_action('{user:w} uses the "{profile}" profile')
def user_profile(world: World, user: str, profile: str) -> None:
    world.user(user).client.profile = profile_named(profile)


@setup_or_action("the client processing delay is {minutes:d} minutes")
def processing_delay(world: World, minutes: int) -> None:
    delay = dt.timedelta(minutes=minutes)
    world.default_profile = world.default_profile.with_delay(delay)
    for user in world.users.values():
        user.client.profile = user.client.profile.with_delay(delay)


_UNITS = {
    "minute": "minutes",
    "minutes": "minutes",
    "hour": "hours",
    "hours": "hours",
    "day": "days",
    "days": "days",
}


@setup_or_action("{count:d} {unit:w} pass")
def time_passes(world: World, count: int, unit: str) -> None:
    if unit not in _UNITS:
        raise InputError("minutes, hours or days", repr(unit))
    world.advance(dt.timedelta(**{_UNITS[unit]: count}))


@setup_or_action("{user:w} restarts the mail client")
def restart(world: World, user: str) -> None:
    world.user(user).client.restart()


@setup_or_action("nothing unusual has happened")
def nothing_unusual(world: World) -> None:
    """A placeholder for Examples rows that change nothing."""


@setup_or_action("nothing else happens")
def nothing_else(world: World) -> None:
    """A placeholder for Examples rows that change nothing."""


# --- sending and answering ---------------------------------------------------

_KINDS = {
    "a plain": (False, False),
    "a signed": (True, False),
    "an encrypted": (False, True),
    "a signed and encrypted": (True, True),
}


def _send(world: World, sender: str, kind: str, to: tuple[str, ...], reply_to: str | None) -> None:
    if kind not in _KINDS:
        raise InputError("a plain, a signed, an encrypted or a signed and encrypted", repr(kind))
    sign_it, encrypt_it = _KINDS[kind]
    user = world.user(sender)
    draft = Draft(
        to=to,
        subject=f"{kind.split(' ', 1)[1].capitalize()} message from {user.name}",
        body=BODY.format(name=user.name),
        sign=sign_it,
        encrypt=encrypt_it,
        reply_to=None if reply_to is None else world.opened_by(sender).opened,
    )
    world.begin_send()
    world.record(user, user.client.send(draft))


@setup_or_action("{sender:w} sends {kind} message to {recipients}")
def send(world: World, sender: str, kind: str, recipients: str) -> None:
    _send(world, sender, kind, tuple(world.address(n) for n in _names(recipients)), None)


@setup_or_action("{sender:w} replies to {other:w} with {kind} message")
def reply(world: World, sender: str, other: str, kind: str) -> None:
    """Answer the message last opened: its signer's certificate counts, as in Outlook."""
    received = world.opened_by(sender)
    if received.sender is None or received.sender.lower() != world.address(other).lower():
        raise _fail(f"the last opened message to come from {other}", received.sender)
    _send(world, sender, kind, (received.sender,), other)


@setup_or_action('{user:w} answers "{answer}"')
def answer(world: World, user: str, answer: str) -> None:
    person = world.user(user)
    choice = Choice.parse(answer)
    outcome = person.client.answer(choice)
    world.note_answer(user, choice)
    if isinstance(outcome, SendOutcome):
        world.record(person, outcome)
    else:
        world.last_contact = outcome


@setup_or_action("the last message to {user:w} is tampered with in transit")
def tamper(world: World, user: str) -> None:
    person = world.user(user)
    marker = b"This is a test message"
    changed = person.organization.server.replace_last(
        person.address, lambda data: data.replace(marker, b"This is a best message", 1)
    )
    if marker not in changed[0] or changed[0] == changed[1]:
        raise _fail("a message whose text can be changed", "no such text in the last message")


@setup_or_action('{user:w} receives the message in "{message}"')
def receives_file(world: World, user: str, message: str) -> None:
    """Deliver a real .eml file (a partner's message) to the user's mailbox."""
    path, data = world.read_file(message, "a message (.eml)")
    world.receive(user, data, source=path)


# --- real artifacts: credentials and certificate authorities --------------------


@setup_or_action(
    '{user:w} imports the credentials in "{credentials}" with the password in "{password}"'
)
def imports_credentials(world: World, user: str, credentials: str, password: str) -> None:
    """Install a PKCS#12 file: its certificate signs and decrypts for the user from now on."""
    path, data = world.read_file(credentials, "a PKCS#12 file")
    password_path, secret = world.read_file(password, "a password file")
    lines = secret.splitlines()
    if not lines or not lines[0]:
        raise InputError("a password on the first line", "an empty file", source=str(password_path))
    credential = load_pkcs12(data, lines[0], source=str(path))
    address = world.user(user).address
    world.install(user, Enrollment(email=address, signing=credential, encryption=credential))


@setup_or_action('{user:w} trusts the certificate authority in "{root}"')
def trusts_file(world: World, user: str, root: str) -> None:
    """An explicit trust decision for a partner's real CA certificate (PEM or DER)."""
    path, data = world.read_file(root, "a CA certificate")
    client = world.user(user).client
    for certificate in load_certificates(data, source=str(path)):
        client.trust(certificate)


# --- opening and contacts ----------------------------------------------------


@setup_or_action("{user:w} opens the last message from {sender:w}")
def opens(world: World, user: str, sender: str) -> None:
    person = world.user(user)
    world.opened[person.name.lower()] = person.client.open(world.last_message_for(user, sender))


@setup_or_action("{user:w} opens the last message")
def opens_newest(world: World, user: str) -> None:
    """Open the newest message in the user's inbox, whoever sent it."""
    world.open_last(user)


@setup_or_action("{user:w} adds {other:w} to Contacts")
def add_to_contacts(world: World, user: str, other: str) -> None:
    person = world.user(user)
    received = world.opened_by(user)
    if received.sender is None or received.sender.lower() != world.address(other).lower():
        raise _fail(f"the last opened message to come from {other}", received.sender)
    world.last_contact = person.client.add_to_contacts(received)
    if world.last_contact.prompt is not None:
        world.note_prompt(user, world.last_contact.prompt)


@setup_or_action("{user:w} has {other:w} in Contacts from an earlier signed message")
def contact_from_earlier(world: World, user: str, other: str) -> None:
    send(world, other, "a signed", user)
    opens(world, user, other)
    if world.address(other) in world.user(user).client.contacts:
        world.user(user).client.restart()  # captured on opening (an auto-capturing client)
        return
    add_to_contacts(world, user, other)
    outcome = world.last_contact
    if outcome is None or outcome.status is not ContactStatus.ADDED:
        raise _fail("the contact to be added", outcome)
    world.user(user).client.restart()


@setup_or_action("{org:w} renews {user:w}'s certificates")
def renews(world: World, org: str, user: str) -> None:
    world.organization(org)  # refuse an unknown organization clearly
    world.renew(user)


@setup_or_action("{org:w} revokes {user:w}'s certificates")
def revokes(world: World, org: str, user: str) -> None:
    organization = world.organization(org)
    enrollment = world.enrollment(user)
    for credential in {id(c): c for c in (enrollment.signing, enrollment.encryption)}.values():
        organization.ca.revoke(credential.certificate, RevocationReason.KEY_COMPROMISE)
    organization.publish_crl()


@setup_or_action("{user:w}'s certificate names {address} instead")
def certificate_names_other(world: World, user: str, address: str) -> None:
    person = world.user(user)
    credential = person.organization.ca.issue(
        CertificateSpec(email=person.address, san_emails=(address,))
    )
    person.client.install(
        Enrollment(email=person.address, signing=credential, encryption=credential)
    )


def _variant(world: World, owner: User, description: str) -> x509.Certificate:
    """Issue the deliberately flawed certificate a scenario names."""
    ca = owner.organization.ca
    now = world.clock.now()
    base: dict[str, Any] = {"email": owner.address, "purpose": CertificatePurpose.ENCRYPTION}
    if description == "a legacy X.509 v1 certificate":
        base["version"] = 1
    elif description == "an expired certificate":
        base["not_before"] = now - dt.timedelta(days=400)
        base["not_after"] = now - dt.timedelta(days=35)
    elif description == "a certificate without key encipherment":
        base["key_usage"] = frozenset({KeyUsageBit.DIGITAL_SIGNATURE})
    elif description == "a certificate without email protection":
        base["extended_key_usage"] = (ExtendedKeyUsageOID.CLIENT_AUTH,)
    elif description == "a certificate for another address":
        base["san_emails"] = (f"someone.else@{owner.organization.domain}",)
    elif description != "a revoked certificate":
        known = "a legacy X.509 v1 certificate, an expired certificate, a revoked certificate, ..."
        raise InputError(f"a certificate description ({known})", repr(description))
    certificate = ca.issue(CertificateSpec(**base)).certificate
    if description == "a revoked certificate":
        ca.revoke(certificate, RevocationReason.KEY_COMPROMISE)
        owner.organization.publish_crl()
    return certificate


@setup_or_action('{user:w} has {other:w} in Contacts with the certificate in "{path}"')
def contact_from_file(world: World, user: str, other: str, path: str) -> None:
    """A contact holding a real certificate file (a partner's), as if processed already."""
    contact_with_variant(world, user, other, f'the certificate in "{path}"')


@setup_or_action("{user:w} has {other:w} in Contacts with {certificate}")
def contact_with_variant(world: World, user: str, other: str, certificate: str) -> None:
    person = world.user(user)
    owner = world.user(other)
    if certificate.startswith('the certificate in "') and certificate.endswith('"'):
        path, data = world.read_file(certificate[len('the certificate in "') : -1], "a certificate")
        cert = load_certificate(data, source=str(path))
    else:
        cert = _variant(world, owner, certificate)
    now = world.clock.now()
    person.client.contacts.put(
        Contact(
            address=owner.address,
            certificate=cert,
            issuers=owner.organization.ca.chain,
            added_at=now,
            processed_at=now,
        )
    )


# --- checks: prompts and outcomes -------------------------------------------


def _last_prompt_text(world: World, user: str) -> str:
    prompt = world.user(user).client.pending_prompt
    if prompt is None:
        last = world.last_outcome_by.get(user.lower())
        raise _fail(f"{user} to see a prompt", f"no prompt (last outcome: {_describe(last)})")
    return prompt.text


def _describe(outcome: SendOutcome | ContactOutcome | None) -> str:
    if outcome is None:
        return "nothing yet"
    reason = f", {outcome.reason}" if outcome.reason else ""
    return f"{outcome.status.value}{reason}"


@check('{user:w} is told "{text}"')
def is_told(world: World, user: str, text: str) -> None:
    shown = _last_prompt_text(world, user)
    if shown != text:
        raise _fail(f"the prompt {text!r}", repr(shown))


@check('{user:w} is asked "{text}"')
def is_asked(world: World, user: str, text: str) -> None:
    is_told(world, user, text)


@check('the choices offered are "{choices}"')
def choices_offered(world: World, choices: str) -> None:
    prompt = world.pending_prompt()
    wanted = tuple(Choice.parse(c) for c in choices.split(","))
    if prompt.choices != wanted:
        raise _fail(", ".join(c.value for c in wanted), ", ".join(c.value for c in prompt.choices))


@check("nothing has been sent")
def nothing_sent(world: World) -> None:
    if world.sent_since_send_began():
        raise _fail(
            "nothing to have left the client", f"{world.sent_since_send_began()} message(s)"
        )


@check("{user:w} has no messages")
def no_messages(world: World, user: str) -> None:
    inbox = world.user(user).client.inbox()
    if inbox:
        raise _fail(f"an empty inbox for {user}", f"{len(inbox)} message(s)")


@check('the outcome is "{status}"')
def outcome_is(world: World, status: str) -> None:
    outcome = world.require_send()
    if outcome.status.value != status:
        raise _fail(f"outcome {status!r}", _describe(outcome))


@check("the sending was cancelled")
def was_cancelled(world: World) -> None:
    outcome_is(world, SendStatus.CANCELLED.value)


@check('the sending is refused because "{reason}"')
def refused_because(world: World, reason: str) -> None:
    outcome = world.require_send()
    if outcome.status is not SendStatus.REFUSED or reason not in (outcome.reason or ""):
        raise _fail(f"a refusal because {reason!r}", _describe(outcome))


@check("the message is sent unencrypted by the sender's choice")
def sent_plain_by_choice(world: World) -> None:
    outcome = world.require_send()
    if not (outcome.status is SendStatus.SENT and not outcome.encrypted):
        raise _fail("an unencrypted message sent", _describe(outcome))
    if not outcome.plaintext_by_choice:
        raise _fail("the outcome to say plaintext was the sender's choice", "it does not")


@check("the message is sent signed and unencrypted")
def sent_signed_plain(world: World) -> None:
    outcome = world.require_send()
    if not (outcome.status is SendStatus.SENT and outcome.signed and not outcome.encrypted):
        raise _fail("a signed, unencrypted message sent", _describe(outcome))


@check("the message is sent encrypted")
def sent_encrypted(world: World) -> None:
    outcome = world.require_send()
    if not (outcome.status is SendStatus.SENT and outcome.encrypted):
        raise _fail("an encrypted message sent", _describe(outcome))


@check('the message is encrypted with "{cipher}"')
def encrypted_with(world: World, cipher: str) -> None:
    decision = world.require_send().decision
    chosen = decision.cipher.cipher if decision and decision.cipher else None
    if chosen is None or chosen.value != cipher:
        raise _fail(cipher, chosen.value if chosen else "no cipher")


@check("the message is encrypted to {owner:w}'s {which:w} encryption certificate")
def encrypted_to_certificate(world: World, owner: str, which: str) -> None:
    expected = world.encryption_certificate(owner, which)
    decision = world.require_send().decision
    address = world.address(owner).lower()
    used = [
        d.certificate for d in (decision.usable if decision else ()) if d.address.lower() == address
    ]
    if used != [expected]:
        raise _fail(f"{owner}'s {which} encryption certificate", used)


@check('the certificate for {user:w} came from the "{source}"')
def certificate_source(world: World, user: str, source: str) -> None:
    decision = world.require_send().decision
    address = world.address(user).lower()
    found = [d for d in (decision.recipients if decision else ()) if d.address.lower() == address]
    if not found or found[0].source is None or found[0].source.value != source:
        raise _fail(f"source {source!r}", found[0].source if found else "no decision")


@check('{user:w} is listed as unusable because "{reason}"')
def unusable_because(world: World, user: str, reason: str) -> None:
    decision = world.require_send().decision
    address = world.address(user).lower()
    for item in decision.unusable if decision else ():
        if item.address.lower() == address:
            if reason not in (item.reason or ""):
                raise _fail(f"reason containing {reason!r}", repr(item.reason))
            return
    raise _fail(f"{user} among the unusable recipients", "not listed")


# --- checks: reading -------------------------------------------------------


@check("{user:w} {ability:w} read the message")
def can_read(world: World, user: str, ability: str) -> None:
    if ability not in ("can", "cannot"):
        raise InputError("can or cannot", repr(ability))
    readable = world.can_read_last_message(user)
    if readable != (ability == "can"):
        raise _fail(
            f"{user} {ability} read the message", f"{user} {'can' if readable else 'cannot'}"
        )


@check("{user:w} can read {pronoun:w} own sent message")
def reads_own(world: World, user: str, pronoun: str) -> None:
    del pronoun
    person = world.user(user)
    received = person.client.open(person.client.sent[-1])
    if received.status is MessageStatus.CANNOT_DECRYPT or received.body is None:
        raise _fail(f"{user} to read the sent copy", received.status.value)


@check('{user:w} sees the signature as "{status}"')
def sees_signature(world: World, user: str, status: str) -> None:
    received = world.opened.get(user.lower()) or world.open_last(user)
    if received.status.value != status:
        reasons = received.opened.signature.reasons if received.opened.signature else ()
        raise _fail(f"signature status {status!r}", f"{received.status.value!r} {list(reasons)}")


def _signature(world: World) -> Any:
    received = world.last_opened()
    if received.opened.signature is None:
        raise _fail("a signed message", "an unsigned one")
    return received.opened.signature


@check("the signature carries {user:w}'s certificate chain")
def carries_chain(world: World, user: str) -> None:
    signature = _signature(world)
    person = world.user(user)
    needed = [world.enrollment(user).signing.certificate, *person.organization.ca.chain]
    missing = [c.subject.rfc4514_string() for c in needed if c not in signature.certificates]
    if missing:
        raise _fail("the signer's chain in the message", f"missing {missing}")


@check("the signature names {user:w}'s encryption certificate as preferred")
def names_preferred(world: World, user: str) -> None:
    expected = world.enrollment(user).encryption.certificate
    if _signature(world).encryption_certificate != expected:
        raise _fail(f"{user}'s encryption certificate as preferred", "another or none")


@check('the signature announces the capabilities "{capabilities}"')
def announces(world: World, capabilities: str) -> None:
    found = ", ".join(c.value for c in _signature(world).capabilities)
    if found != capabilities:
        raise _fail(repr(capabilities), repr(found))


@check("a contact for {user:w} is added")
def contact_added(world: World, user: str) -> None:
    outcome = world.last_contact
    if outcome is None or outcome.status is not ContactStatus.ADDED:
        raise _fail("a contact added", _describe(outcome))


@check("adding the contact is refused")
def contact_refused(world: World) -> None:
    outcome = world.last_contact
    if outcome is None or outcome.status is not ContactStatus.REFUSED:
        raise _fail("adding the contact refused", _describe(outcome))


@check("{user:w}'s contact for {other:w} holds {owner:w}'s encryption certificate")
def contact_holds(world: World, user: str, other: str, owner: str) -> None:
    contact_holds_which(world, user, other, owner, "current")


@check("{user:w}'s contact for {other:w} holds {owner:w}'s {which:w} encryption certificate")
def contact_holds_which(world: World, user: str, other: str, owner: str, which: str) -> None:
    contact = world.user(user).client.contacts.get(world.address(other))
    expected = world.encryption_certificate(owner, which)
    if contact is None or contact.certificate != expected:
        found = "no contact" if contact is None else "another certificate"
        raise _fail(f"{owner}'s {which} encryption certificate", found)


@check('{user:w}\'s contact for {other:w} lists the capabilities "{capabilities}"')
def contact_capabilities(world: World, user: str, other: str, capabilities: str) -> None:
    contact = world.user(user).client.contacts.get(world.address(other))
    found = ", ".join(c.value for c in contact.capabilities) if contact else "no contact"
    if found != capabilities:
        raise _fail(repr(capabilities), repr(found))


# --- policy -------------------------------------------------------------------


@setup_or_action('the organization policy "{policy}"')
def organization_policy(world: World, policy: str) -> None:
    """Every organization follows a built-in policy (outlook98, rfc8551, strict) or a .toml file."""
    world.choose_policy(_policy(world, policy))


@setup_or_action('{org:w}\'s policy is "{policy}"')
def org_policy(world: World, org: str, policy: str) -> None:
    """One organization follows a built-in policy or a .toml file (relative to the feature)."""
    world.choose_policy(_policy(world, policy), org)


def _policy(world: World, reference: str) -> Policy:
    """A built-in policy by name, or a .toml file inside the feature's folder tree."""
    if reference in BUILTIN:
        return load_policy(reference)
    return load_policy(str(world.resolve(reference, "a policy file")))


@setup_or_action('{user:w}\'s client signs with "{digest}"')
def signs_with(world: World, user: str, digest: str) -> None:
    """The digest the user's client signs with (sha1, sha256, sha384, sha512)."""
    world.user(user).client.digest = parse_enum(DigestAlgorithm, digest, "digest")


def _findings_text(findings: tuple[Finding, ...]) -> str:
    if not findings:
        return "no findings"
    return "; ".join(f"{f.severity.value} {f.rule_id} ({f.message})" for f in findings)


@check("the policy reports no errors for the last message")
def policy_no_errors(world: World) -> None:
    findings = world.findings_of_last_send()
    errors = tuple(f for f in findings if f.severity is Severity.ERROR)
    if errors:
        raise _fail("no error-level findings", _findings_text(errors))


@check('the policy reports "{rule_id}"')
def policy_reports(world: World, rule_id: str) -> None:
    findings = world.findings_of_last_send()
    if not any(f.rule_id == rule_id for f in findings):
        raise _fail(f"a finding {rule_id!r}", _findings_text(findings))


_SEVERITY_WORDS = {"an error": Severity.ERROR, "a warning": Severity.WARNING, "info": Severity.INFO}


@check('the policy reports "{rule_id}" as {severity}')
def policy_reports_as(world: World, rule_id: str, severity: str) -> None:
    if severity not in _SEVERITY_WORDS:
        raise InputError("an error, a warning or info", repr(severity))
    wanted = _SEVERITY_WORDS[severity]
    findings = world.findings_of_last_send()
    matching = [f for f in findings if f.rule_id == rule_id]
    if not any(f.severity is wanted for f in matching):
        raise _fail(f"{rule_id!r} as {severity}", _findings_text(findings))


@check('the policy reports nothing about "{rule_id}"')
def policy_silent(world: World, rule_id: str) -> None:
    findings = world.findings_of_last_send()
    matching = tuple(f for f in findings if f.rule_id == rule_id)
    if matching:
        raise _fail(f"no finding {rule_id!r}", _findings_text(matching))

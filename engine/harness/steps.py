"""The step vocabulary: business-language Gherkin steps over the engine's model.

Each step is a thin adapter: it parses names from the sentence, calls the
model through :class:`~engine.harness.world.World`'s intent-level methods
(``world.trust``, ``world.add_contact``, ``world.set_cipher``...), never by
setting a world's or a client's attributes, and checks what a person would
check. Steps that read naturally as both setup and action are registered as
Given and When.

A step declares everything ``smime-harness steps`` shows about it where it is
defined: ``values=`` for each closed placeholder (the table the step reads),
``example=`` where the usual sample of a placeholder would not read sensibly.
A pattern that could take another step's sentence is refused when the library
is built (:class:`AmbiguousStepError`, naming both) unless one declares
``overrides=`` the other.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from pytest_bdd import given, parsers, then, when

from engine.clock import duration
from engine.cms.algorithms import STRENGTH_ORDER, ContentCipher, DigestAlgorithm, parse_enum
from engine.errors import EnrollmentError, InputError
from engine.findings import Finding, Severity
from engine.harness.world import GENERATIONS, User, World
from engine.mail.profile import PROFILES, ClientProfile, Source, load_profile, load_profile_file
from engine.mail.prompt import Choice
from engine.mail.reading import ContactOutcome, ContactStatus, MessageStatus
from engine.mail.sending import Draft, SendOutcome, SendStatus
from engine.mail.settings import ClientError, PromptOpenError
from engine.mail.usability import UNTRUSTED_ROOT
from engine.pki.authority import CertificatePurpose, CertificateSpec, Enrollment
from engine.pki.certificate_spec import KeyUsageBit
from engine.pki.credential import (
    certificate_emails,
    load_certificates,
    load_pkcs12,
)
from engine.pki.keys import KeyType
from engine.pki.revocation import RevocationReason
from engine.policy.document import BUILTIN, Policy, load_policy
from engine.policy.rules import RULE_FAMILIES, RULES, rule
from engine.smime.sender import AddressMatch
from engine.smime.verification_result import VerificationResult

F = TypeVar("F", bound=Callable[..., Any])

BODY = "This is a test message from {name}."

_CIPHERS = tuple(c.value for c in ContentCipher)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StepEntry:
    """One sentence of the vocabulary: its keywords, pattern and what it does."""

    keywords: tuple[str, ...]
    pattern: str
    doc: str
    # The values each closed placeholder takes, from the table the step itself reads.
    values: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Values for the example sentence where the usual ones would not read sensibly.
    example: tuple[tuple[str, str], ...] = ()
    # The sentence as a writer would write it (without keyword), declared with the step.
    sentence: str = ""
    # Broader patterns this one takes precedence over where both match a sentence.
    overrides: tuple[str, ...] = ()


class AmbiguousStepError(TypeError):
    """Two steps' patterns match one sentence and neither declares that it wins."""


# The usual sample for each placeholder, so a step's example reads as a user would write
# it; a step declares its own (``example=``) where the usual one would not fit.
_SAMPLES = {
    "user": "UserA",
    "sender": "UserB",
    "other": "UserB",
    "owner": "UserB",
    "org": "Contoso",
    "first": "Contoso",
    "second": "Fabrikam",
    "recipients": "UserA",
    "kind": "an encrypted",
    "arrangement": "separate signing and encryption certificates",
    "answer": "cancel",
    "text": "None of the recipients can process an encrypted message. …",
    "choices": "proceed unencrypted, cancel",
    "status": "valid",
    "reason": "certificate expired",
    "cipher": "aes-256-gcm",
    "which": "current",
    "source": "directory",
    "capabilities": "aes-256-cbc, aes-128-cbc",
    "certificate": "an expired certificate",
    "address": "usera@contoso.example",
    "domain": "contoso.example.com",
    "usage": "key encipherment",
    "profile": "thunderbird",
    "minutes": "5",
    "count": "5",
    "unit": "minutes",
    "ability": "cannot",
    "pronoun": "her",
    "path": "partner/userb.pem",
    "message": "partner/signed-by-userb.eml",
    "credentials": "partner/usera.p12",
    "password": "partner/usera.password",
    "root": "partner/root-ca.pem",
    "policy": "strict",
    "rule_id": "smime.sig.hash.sha1",
    "severity": "an error",
    "digest": "sha1",
}

_PLACEHOLDER = re.compile(r"\{([^}]*)\}")


def _fill(pattern: str, chosen: Mapping[str, str], closed: Mapping[str, tuple[str, ...]]) -> str:
    """The pattern filled in: the step's own example values, else the usual sample for the
    placeholder when the step accepts it, else the first value the step accepts."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1).split(":", 1)[0]
        if name in chosen:
            return chosen[name]
        usual = _SAMPLES.get(name, name.upper())
        allowed = closed.get(name)
        return usual if allowed is None or usual in allowed else allowed[0]

    return _PLACEHOLDER.sub(fill, pattern)


@dataclasses.dataclass(frozen=True, slots=True)
class _Definition:
    pattern: str
    parser: parsers.parse
    func: Callable[..., Any]
    overrides: frozenset[str] = frozenset()
    samples: tuple[str, ...] = ()  # its example, and the example with each closed value


@dataclasses.dataclass(frozen=True, slots=True)
class _Sentence:
    """A step's text matched to its definition, with the values parsed from it."""

    definition: _Definition
    arguments: tuple[tuple[str, Any], ...]
    text: str = ""


def _wins(first: _Definition, second: _Definition) -> bool:
    """Whether a declared precedence settles a sentence both patterns match."""
    return second.pattern in first.overrides or first.pattern in second.overrides


class StepLibrary:
    """The step definitions by keyword; a pattern that could take another's sentence is
    refused when it is added, unless one of the two declares ``overrides=`` the other."""

    def __init__(self) -> None:
        self.definitions: dict[str, list[_Definition]] = {keyword: [] for keyword in _KEYWORDS}
        self.entries: list[StepEntry] = []
        # Each distinct sentence is parsed once per library (bounded: sentences repeat).
        self.match: functools._lru_cache_wrapper[_Sentence | None] = functools.lru_cache(
            maxsize=4096
        )(self._match)

    def _match(self, keyword: str, text: str) -> _Sentence | None:
        """The definition for a step's text: the only pattern that matches it, or the one
        that declares it overrides every other match."""
        found = [d for d in self.definitions[keyword] if d.parser.is_matching(text)]
        if not found:
            return None
        winners = [d for d in found if all(o is d or o.pattern in d.overrides for o in found)]
        if len(winners) != 1:
            named = " and ".join(f'"{d.pattern}"' for d in found)
            raise AmbiguousStepError(f'the step "{text}" matches {named}; none declares it wins')
        definition = winners[0]
        parsed = definition.parser.parse_arguments(text)
        return _Sentence(definition, tuple(parsed.items()), text)

    def add(self, keywords: tuple[str, ...], definition: _Definition) -> None:
        """Add a definition under each keyword; AmbiguousStepError if it overlaps another."""
        for keyword in keywords:
            for other in self.definitions[keyword]:
                if other.pattern == definition.pattern:
                    raise AmbiguousStepError(f'the step "{definition.pattern}" is defined twice')
                if _wins(definition, other):
                    continue
                both = [t for t in definition.samples if other.parser.is_matching(t)] + [
                    t for t in other.samples if definition.parser.is_matching(t)
                ]
                if both:
                    raise AmbiguousStepError(
                        f'the steps "{other.pattern}" and "{definition.pattern}" both match '
                        f'"{both[0]}": declare which one wins with overrides='
                    )
        for keyword in keywords:
            self.definitions[keyword].append(definition)
        self.match.cache_clear()

    def register(
        self,
        keywords: tuple[str, ...],
        pattern: str,
        values: Values | None = None,
        example: Mapping[str, str] | None = None,
        overrides: Iterable[str] = (),
    ) -> Callable[[F], F]:
        def register(func: F) -> F:
            parser = parsers.parse(pattern)
            filled = set(parser.parser.named_fields)
            for name in (*(values or {}), *(example or {})):
                if name not in filled:
                    raise TypeError(f"step {pattern!r} has no placeholder {{{name}}}")
            fixtures = [
                name
                for name, parameter in inspect.signature(func).parameters.items()
                if name not in filled and parameter.default is parameter.empty
            ]
            if fixtures != ["world"]:  # _perform passes the world, and the sentence fills the rest
                raise TypeError(f"step {pattern!r} must take world and its placeholders only")
            closed = {name: tuple(v) for name, v in (values or {}).items()}
            chosen = dict(example or {})
            sentence = _fill(pattern, chosen, closed)
            samples = [sentence]
            for name, accepted in closed.items():
                samples.extend(_fill(pattern, {**chosen, name: v}, closed) for v in accepted)
            definition = _Definition(
                pattern, parser, func, frozenset(overrides), tuple(dict.fromkeys(samples))
            )
            self.add(keywords, definition)
            doc = (func.__doc__ or "").strip().splitlines()
            self.entries.append(
                StepEntry(
                    keywords=keywords,
                    pattern=pattern,
                    doc=doc[0] if doc else "",
                    values=tuple(closed.items()),
                    example=tuple(chosen.items()),
                    sentence=sentence,
                    overrides=tuple(overrides),
                )
            )
            return func

        return register


Values = Mapping[str, Iterable[str]]

_KEYWORDS = {"given": given, "when": when, "then": then}

LIBRARY = StepLibrary()
STEPS: list[StepEntry] = LIBRARY.entries
_DEFINITIONS = LIBRARY.definitions
_match = LIBRARY.match


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


def definition_of(step_type: str, text: str) -> Callable[..., Any] | None:
    """The step function a sentence runs (a report's Cucumber ``match.location``)."""
    found = _match(step_type, text)
    return None if found is None else found.definition.func


def _perform(world: World, sentence: _Sentence) -> None:
    world.begin_step(sentence.text)
    try:
        sentence.definition.func(world=world, **dict(sentence.arguments))
    except PromptOpenError as exc:
        # Say which step left the prompt open: that is where the scenario went astray.
        event = world.unanswered(exc.prompt)
        where = f' (shown at "{event.step}")' if event is not None and event.step else ""
        raise ClientError(f"{exc}{where}") from None


# pytest-bdd asks for the signature at every step: computed once here.
_perform.__signature__ = inspect.signature(_perform)  # type: ignore[attr-defined]

for _keyword, _decorator in _KEYWORDS.items():
    _decorator(_Vocabulary(_keyword))(_perform)


def setup_or_action(
    pattern: str,
    *,
    values: Values | None = None,
    example: Mapping[str, str] | None = None,
    overrides: Iterable[str] = (),
) -> Callable[[F], F]:
    """A step that reads naturally both as setup (Given) and as action (When)."""
    return LIBRARY.register(("given", "when"), pattern, values, example, overrides)


def action(
    pattern: str,
    *,
    values: Values | None = None,
    example: Mapping[str, str] | None = None,
    overrides: Iterable[str] = (),
) -> Callable[[F], F]:
    return LIBRARY.register(("when",), pattern, values, example, overrides)


def check(
    pattern: str,
    *,
    values: Values | None = None,
    example: Mapping[str, str] | None = None,
    overrides: Iterable[str] = (),
) -> Callable[[F], F]:
    return LIBRARY.register(("then",), pattern, values, example, overrides)


def _one_of(what: str, table: Iterable[str], found: str) -> InputError:
    """An unknown value of a closed placeholder, naming every value it takes."""
    return InputError(f"{what} ({', '.join(table)})", repr(found))


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


@setup_or_action(
    "{user:w} is enrolled at {org:w} with {arrangement}", values={"arrangement": _ARRANGEMENTS}
)
def enrolled_with(world: World, user: str, org: str, arrangement: str) -> None:
    try:
        options = _ARRANGEMENTS[arrangement]
    except KeyError:
        raise _one_of("an arrangement", _ARRANGEMENTS, arrangement) from None
    world.add_user(user, org, **options)


@setup_or_action("{user:w} has a mailbox at {org:w} but is not enrolled")
def unenrolled(world: World, user: str, org: str) -> None:
    world.add_user(user, org, enrolled=False)


@action("{org:w} issues an enrollment token for {user:w}")
def issue_token(world: World, org: str, user: str) -> None:
    world.issue_token(org, user)


@action("{user:w} enrolls at {org:w} with that token")
def enroll_with_token(world: World, user: str, org: str) -> None:
    world.enroll_with_token(user, org)


@check("enrolling {user:w} at {org:w} again with the same token is refused")
def token_reuse_refused(world: World, user: str, org: str) -> None:
    try:
        world.enroll_with_token(user, org)
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


# RFC 5280 §4.2.1.3, in words: the attribute of cryptography's KeyUsage each names.
_USAGES = {
    "digital signature": "digital_signature",
    "content commitment": "content_commitment",
    "key encipherment": "key_encipherment",
    "data encipherment": "data_encipherment",
    "key agreement": "key_agreement",
}


@check(
    "{user:w}'s encryption certificate allows {usage}",
    values={"usage": _USAGES},
    example={"usage": "key encipherment"},
)
def encryption_usage(world: World, user: str, usage: str) -> None:
    if usage not in _USAGES:
        raise _one_of("a key usage", _USAGES, usage)
    cert = world.enrollment(user).encryption.certificate
    key_usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    if not getattr(key_usage, _USAGES[usage]):
        raise _fail(f"key usage {usage}", key_usage)


# --- clients, trust, profiles, time ----------------------------------------


@setup_or_action("{user:w} trusts {org:w}'s certificate authority", example={"org": "Fabrikam"})
def trusts(world: World, user: str, org: str) -> None:
    world.trust(user, org)


@setup_or_action(
    "{user:w} no longer trusts {org:w}'s certificate authority", example={"org": "Fabrikam"}
)
def distrusts(world: World, user: str, org: str) -> None:
    world.distrust(user, org)


@setup_or_action('every client uses the "{profile}" profile', values={"profile": PROFILES})
def every_client_profile(world: World, profile: str) -> None:
    """Every client follows a built-in profile or a .toml file (relative to the feature)."""
    world.use_profile(_profile(world, profile))


@setup_or_action('{user:w} uses the "{profile}" profile', values={"profile": PROFILES})
def user_profile(world: World, user: str, profile: str) -> None:
    """One client follows a built-in profile or a .toml file (relative to the feature)."""
    world.use_profile(_profile(world, profile), user)


def _profile(world: World, reference: str) -> ClientProfile:
    """A built-in profile by name, or a .toml file inside the feature's folder tree."""
    if not reference.endswith(".toml"):
        return load_profile(reference)  # a built-in one, or an error naming them
    return load_profile_file(world.resolve(reference, "a client profile file"))


@setup_or_action("the client processing delay is {minutes:d} minutes")
def processing_delay(world: World, minutes: int) -> None:
    world.set_processing_delay(duration(minutes=minutes))


_UNITS = {
    "minute": "minutes",
    "minutes": "minutes",
    "hour": "hours",
    "hours": "hours",
    "day": "days",
    "days": "days",
}


@setup_or_action(
    "{count:d} {unit:w} pass", values={"unit": _UNITS}, example={"count": "5", "unit": "minutes"}
)
def time_passes(world: World, count: int, unit: str) -> None:
    if unit not in _UNITS:
        raise _one_of("a unit of time", _UNITS, unit)
    world.advance(duration(**{_UNITS[unit]: count}))


@setup_or_action(
    "{count:d} {unit:w} passes", values={"unit": _UNITS}, example={"count": "1", "unit": "hour"}
)
def time_passes_once(world: World, count: int, unit: str) -> None:
    """The clock moves on, said in the singular: "1 hour passes"."""
    time_passes(world, count, unit)


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
        raise _one_of("a kind of message", _KINDS, kind)
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


@setup_or_action(
    "{sender:w} sends {kind} message to {recipients}",
    values={"kind": _KINDS},
    example={"kind": "an encrypted"},
)
def send(world: World, sender: str, kind: str, recipients: str) -> None:
    _send(world, sender, kind, tuple(world.address(n) for n in _names(recipients)), None)


@setup_or_action(
    "{sender:w} replies to {other:w} with {kind} message",
    values={"kind": _KINDS},
    example={"sender": "UserA", "other": "UserB", "kind": "an encrypted"},
)
def reply(world: World, sender: str, other: str, kind: str) -> None:
    """Answer the message last opened: its signer's certificate counts, as in Outlook."""
    received = world.opened_by(sender)
    if received.sender is None or received.sender.lower() != world.address(other).lower():
        raise _fail(f"the last opened message to come from {other}", received.sender)
    _send(world, sender, kind, (received.sender,), other)


@setup_or_action(
    '{user:w} answers "{answer}"',
    values={"answer": [c.value for c in Choice]},
    example={"answer": "cancel"},
)
def answer(world: World, user: str, answer: str) -> None:
    person = world.user(user)
    choice = Choice.parse(answer)
    outcome = person.client.answer(choice)
    world.note_answer(user, choice)
    if isinstance(outcome, SendOutcome):
        world.record(person, outcome)
    else:
        world.note_contact(user, outcome)


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
    world.note_opened(user, person.client.open(world.last_message_for(user, sender)))


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
    world.note_contact(user, person.client.add_to_contacts(received))


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
    revokes_which(world, org, user, "current")


@setup_or_action(
    "{org:w} revokes {user:w}'s {which:w} certificates",
    values={"which": GENERATIONS},
    example={"org": "Fabrikam", "user": "UserB", "which": "previous"},
)
def revokes_which(world: World, org: str, user: str, which: str) -> None:
    """Revoke the certificates a user holds now, or those held before the last renewal."""
    organization = world.organization(org)
    enrollment = world.enrollment(user, which)
    for credential in {id(c): c for c in (enrollment.signing, enrollment.encryption)}.values():
        organization.ca.revoke(credential.certificate, RevocationReason.KEY_COMPROMISE)
    organization.publish_crl()


@setup_or_action("{user:w}'s certificate expires", example={"user": "UserB"})
def certificate_expires(world: World, user: str) -> None:
    """The clock moves one second past the notAfter of the user's current certificates.

    Time moves for everyone: certificates issued at the same time expire with them.
    """
    enrollment = world.enrollment(user)
    credentials = (enrollment.signing, enrollment.encryption)
    last = max(c.certificate.not_valid_after_utc for c in credentials)
    now = world.clock.now()
    if now <= last:
        world.advance(last - now + dt.timedelta(seconds=1))


@setup_or_action(
    "{user:w}'s certificate names {address} instead",
    example={"address": "someone.else@contoso.example"},
)
def certificate_names_other(world: World, user: str, address: str) -> None:
    person = world.user(user)
    credential = person.organization.ca.issue(
        CertificateSpec(email=person.address, san_emails=(address,))
    )
    person.client.install(
        Enrollment(email=person.address, signing=credential, encryption=credential)
    )


# The deliberately flawed certificates a scenario can name: what each changes in the spec.
_VARIANTS: dict[str, Callable[[dt.datetime, User], dict[str, Any]]] = {
    "a legacy X.509 v1 certificate": lambda now, owner: {"version": 1},
    "an expired certificate": lambda now, owner: {
        "not_before": now - dt.timedelta(days=400),
        "not_after": now - dt.timedelta(days=35),
    },
    "a revoked certificate": lambda now, owner: {},  # revoked once issued
    "a certificate without key encipherment": lambda now, owner: {
        "key_usage": frozenset({KeyUsageBit.DIGITAL_SIGNATURE})
    },
    "a certificate without email protection": lambda now, owner: {
        "extended_key_usage": (ExtendedKeyUsageOID.CLIENT_AUTH,)
    },
    "a certificate for another address": lambda now, owner: {
        "san_emails": (f"someone.else@{owner.organization.domain}",)
    },
}


def _variant(world: World, owner: User, description: str) -> x509.Certificate:
    """Issue the deliberately flawed certificate a scenario names."""
    ca = owner.organization.ca
    if description not in _VARIANTS:
        raise _one_of("a certificate description", _VARIANTS, description)
    base: dict[str, Any] = {"email": owner.address, "purpose": CertificatePurpose.ENCRYPTION}
    base.update(_VARIANTS[description](world.clock.now(), owner))
    certificate = ca.issue(CertificateSpec(**base)).certificate
    if description == "a revoked certificate":
        ca.revoke(certificate, RevocationReason.KEY_COMPROMISE)
        owner.organization.publish_crl()
    return certificate


@setup_or_action(
    '{user:w} has {other:w} in Contacts with the certificate in "{path}"',
    overrides=["{user:w} has {other:w} in Contacts with {certificate}"],
)
def contact_from_file(world: World, user: str, other: str, path: str) -> None:
    """A contact holding a real certificate file (a partner's), as if processed already."""
    contact_with_variant(world, user, other, f'the certificate in "{path}"')


@setup_or_action(
    "{user:w} has {other:w} in Contacts with {certificate}",
    values={"certificate": _VARIANTS},
    example={"certificate": "an expired certificate"},
)
def contact_with_variant(world: World, user: str, other: str, certificate: str) -> None:
    world.user(user)  # an unknown user is refused before any certificate is issued
    owner = world.user(other)
    issuers = owner.organization.ca.chain
    if certificate.startswith('the certificate in "') and certificate.endswith('"'):
        path, data = world.read_file(certificate[len('the certificate in "') : -1], "a certificate")
        # One certificate, or a PEM bundle: the contact's certificate first, then its issuing
        # CAs (the chain a signed message would have carried), for its path to a trusted root.
        cert, *chain = load_certificates(data, source=str(path))
        issuers = (*chain, *issuers)
    else:
        cert = _variant(world, owner, certificate)
    world.add_contact(user, other, cert, issuers)


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
    if outcome.prompt is not None:  # name the prompt, so a writer sees what is waiting
        choices = ", ".join(c.value for c in outcome.prompt.choices)
        reason += f": {outcome.prompt.text!r} ({choices})"
    return f"{outcome.status.value}{reason}"


@check('{user:w} is told "{text}"')
def is_told(world: World, user: str, text: str) -> None:
    shown = _last_prompt_text(world, user)
    if shown != text:
        raise _fail(f"the prompt {text!r}", repr(shown))


@check('{user:w} is asked "{text}"')
def is_asked(world: World, user: str, text: str) -> None:
    is_told(world, user, text)


@check(
    'the choices offered are "{choices}"',
    values={"choices": [c.value for c in Choice]},
    example={"choices": "proceed unencrypted, cancel"},
)
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


@check(
    'the outcome is "{status}"',
    values={"status": [s.value for s in SendStatus]},
    example={"status": "sent"},
)
def outcome_is(world: World, status: str) -> None:
    expected = next((s for s in SendStatus if s.value == status), None)
    if expected is None:
        raise _one_of("a send outcome", [s.value for s in SendStatus], status)
    outcome = world.require_send()
    if outcome.status is not expected:
        raise _fail(f"outcome {status!r}", _describe(outcome))


@check("the sending was cancelled")
def was_cancelled(world: World) -> None:
    outcome_is(world, SendStatus.CANCELLED.value)


@check('the sending is refused because "{reason}"', example={"reason": "cannot encrypt"})
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


@check('the message is encrypted with "{cipher}"', values={"cipher": _CIPHERS})
def encrypted_with(world: World, cipher: str) -> None:
    parse_enum(ContentCipher, cipher, "cipher")
    outcome = world.require_send()
    decision = outcome.decision
    chosen = decision.cipher.cipher if decision and decision.cipher else None
    if not (outcome.status is SendStatus.SENT and outcome.encrypted):
        raise _fail(f"a message sent encrypted with {cipher}", _describe(outcome))
    if chosen is None or chosen.value != cipher:
        raise _fail(cipher, chosen.value if chosen else "no cipher")


@check(
    "the message is encrypted to {owner:w}'s {which:w} encryption certificate",
    values={"which": GENERATIONS},
)
def encrypted_to_certificate(world: World, owner: str, which: str) -> None:
    expected = world.encryption_certificate(owner, which)
    decision = world.require_send().decision
    address = world.address(owner).lower()
    used = [
        d.certificate for d in (decision.usable if decision else ()) if d.address.lower() == address
    ]
    if used != [expected]:
        found: object = used
        if not used:  # say why not, rather than "[]"
            reasons = [
                d.reason
                for d in (decision.recipients if decision else ())
                if d.address.lower() == address
            ]
            why = f": {reasons[0]}" if reasons and reasons[0] else ""
            found = f"not encrypted to {address}{why}"
        raise _fail(f"{owner}'s {which} encryption certificate", found)


@check(
    'the certificate for {user:w} came from the "{source}"',
    values={"source": [s.value for s in Source]},
    example={"user": "UserB"},
)
def certificate_source(world: World, user: str, source: str) -> None:
    parse_enum(Source, source, "certificate source")
    decision = world.require_send().decision
    address = world.address(user).lower()
    found = [d for d in (decision.recipients if decision else ()) if d.address.lower() == address]
    if not found or found[0].source is None or found[0].source.value != source:
        raise _fail(f"source {source!r}", found[0].source if found else "no decision")


@check(
    '{user:w} is listed as unusable because "{reason}"',
    example={"user": "UserB", "reason": "certificate expired"},
)
def unusable_because(world: World, user: str, reason: str) -> None:
    decision = world.require_send().decision
    address = world.address(user).lower()
    for item in decision.unusable if decision else ():
        if item.address.lower() == address:
            if reason not in (item.reason or ""):
                raise _fail(f"reason containing {reason!r}", repr(item.reason))
            return
    raise _fail(f"{user} among the unusable recipients", "not listed")


@check(
    "{user:w} is warned that {org:w}'s certificate authority is not trusted",
    example={"org": "Fabrikam"},
)
def warned_untrusted_ca(world: World, user: str, org: str) -> None:
    """The user's last send listed a recipient as unusable because its certificate does not
    chain to a root the user trusts, and that root is the organization's (IMP-03)."""
    organization = world.organization(org)
    outcome = world.last_outcome_by.get(user.lower())
    if not isinstance(outcome, SendOutcome) or outcome.decision is None:
        raise _fail(f"{user} to have tried to send encrypted mail", _describe(outcome))
    authority = {c.subject for c in (*organization.ca.chain, organization.ca.root)}
    warned = [
        r
        for r in outcome.decision.unusable
        if r.untrusted and r.certificate is not None and r.certificate.issuer in authority
    ]
    if not warned:
        found = [
            f"{r.address}: {'usable' if r.usable else r.reason}"
            for r in outcome.decision.recipients
        ]
        raise _fail(
            f"a recipient listed as unusable because {organization.name}'s certificate "
            f"authority is not trusted ({UNTRUSTED_ROOT})",
            f"{_describe(outcome)}; recipients: {'; '.join(found)}",
        )


# --- checks: reading -------------------------------------------------------


_ABILITIES = ("can", "cannot")


@check(
    "{user:w} {ability:w} read the message",
    values={"ability": _ABILITIES},
    example={"user": "UserB", "ability": "can"},
)
def can_read(world: World, user: str, ability: str) -> None:
    if ability not in _ABILITIES:
        raise _one_of("whether the user can read it", _ABILITIES, ability)
    readable = world.can_read_last_message(user)
    if readable != (ability == "can"):
        raise _fail(
            f"{user} {ability} read the message", f"{user} {'can' if readable else 'cannot'}"
        )


_PRONOUNS = ("her", "his", "their")


@check("{user:w} can read {pronoun:w} own sent message", values={"pronoun": _PRONOUNS})
def reads_own(world: World, user: str, pronoun: str) -> None:
    if pronoun not in _PRONOUNS:
        raise _one_of("a pronoun", _PRONOUNS, pronoun)
    person = world.user(user)
    received = person.client.open(person.client.sent[-1])
    if received.status is MessageStatus.CANNOT_DECRYPT or received.body is None:
        raise _fail(f"{user} to read the sent copy", received.status.value)


@check(
    '{user:w} sees the signature as "{status}"',
    values={"status": [s.value for s in MessageStatus]},
    example={"status": "valid"},
)
def sees_signature(world: World, user: str, status: str) -> None:
    expected = parse_enum(MessageStatus, status, "signature status")
    received = world.opened.get(user.lower()) or world.open_last(user)
    if received.status is not expected:
        reasons = received.opened.signature.reasons if received.opened.signature else ()
        raise _fail(f"signature status {status!r}", f"{received.status.value!r} {list(reasons)}")
    # The scenario expected this signature problem: the policy's finding about it is what
    # the scenario proves, shown in the report as expected, not as an error of the run.
    signature = received.opened.signature
    rule = None if signature is None else _signature_rule(signature)
    if rule is not None:
        world.expect_findings(f for f in world.findings if f.rule_id == rule)


def _signature_rule(signature: VerificationResult) -> str | None:
    """The message finding for the check a signature fails first (engine/policy/compliance.py):
    integrity, then trust, then the sender's address, the order of its status."""
    if not signature.intact:
        return "smime.msg.signature.intact"
    if not signature.trusted:
        return "smime.msg.signature.trust"
    if signature.address_match is AddressMatch.MISMATCH:
        return "smime.msg.signature.address"
    return None


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


@check(
    'the signature announces the capabilities "{capabilities}"',
    values={"capabilities": _CIPHERS},
    example={"capabilities": "aes-256-cbc, aes-128-cbc"},
)
def announces(world: World, capabilities: str) -> None:
    found = ", ".join(c.value for c in _signature(world).capabilities)
    if found != capabilities:
        raise _fail(repr(capabilities), repr(found))


@check("a contact for {user:w} is added", example={"user": "UserB"})
def contact_added(world: World, user: str) -> None:
    """The last contact added, by Add to Contacts or captured on opening, is the user's."""
    outcome = world.last_contact
    address = world.address(user).lower()
    if (
        outcome is None
        or outcome.status is not ContactStatus.ADDED
        or outcome.contact is None
        or outcome.contact.address.lower() != address
    ):
        found = _describe(outcome)
        if outcome is not None and outcome.contact is not None:
            found += f" for {outcome.contact.address}"
        raise _fail(f"a contact for {address} added", found)


@check("{user:w} has {other:w} in Contacts", example={"other": "UserB"})
def has_contact(world: World, user: str, other: str) -> None:
    """The user's Contacts hold an entry for the other (processed yet or not)."""
    if world.address(other) not in world.user(user).client.contacts:
        raise _fail(f"a contact for {other} in {user}'s Contacts", "none")


@check("{user:w} has no contact for {other:w}", example={"other": "UserB"})
def has_no_contact(world: World, user: str, other: str) -> None:
    contact = world.user(user).client.contacts.get(world.address(other))
    if contact is not None:
        raise _fail(f"no contact for {other} in {user}'s Contacts", f"one for {contact.address}")


@check("adding the contact is refused")
def contact_refused(world: World) -> None:
    outcome = world.last_contact
    if outcome is None or outcome.status is not ContactStatus.REFUSED:
        raise _fail("adding the contact refused", _describe(outcome))


@check("{user:w}'s contact for {other:w} holds {owner:w}'s encryption certificate")
def contact_holds(world: World, user: str, other: str, owner: str) -> None:
    contact_holds_which(world, user, other, owner, "current")


@check(
    "{user:w}'s contact for {other:w} holds {owner:w}'s {which:w} encryption certificate",
    values={"which": GENERATIONS},
)
def contact_holds_which(world: World, user: str, other: str, owner: str, which: str) -> None:
    contact = world.user(user).client.contacts.get(world.address(other))
    expected = world.encryption_certificate(owner, which)
    if contact is None or contact.certificate != expected:
        found = "no contact" if contact is None else "another certificate"
        raise _fail(f"{owner}'s {which} encryption certificate", found)


@check(
    '{user:w}\'s contact for {other:w} lists the capabilities "{capabilities}"',
    values={"capabilities": _CIPHERS},
    example={"capabilities": "aes-256-cbc, aes-128-cbc"},
)
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
    path = world.resolve(reference, "a policy file")
    # A client profile file the policy names must lie in the same folder tree.
    return load_policy(str(path), confine=lambda p: world.resolve(str(p), "a client profile file"))


_ENCRYPTING = tuple(c.value for c in STRENGTH_ORDER)


@setup_or_action(
    '{user:w}\'s client encrypts with "{cipher}"',
    values={"cipher": _ENCRYPTING},
    example={"cipher": "aes-128-gcm"},
)
def encrypts_with(world: World, user: str, cipher: str) -> None:
    """The one content cipher the user's client encrypts with; every recipient must support it."""
    if cipher not in _ENCRYPTING:
        raise _one_of("a cipher the client can encrypt with", _ENCRYPTING, cipher)
    world.set_cipher(user, ContentCipher(cipher))


@setup_or_action(
    '{user:w}\'s client signs with "{digest}"',
    values={"digest": [d.value for d in DigestAlgorithm]},
    example={"digest": "sha1"},
)
def signs_with(world: World, user: str, digest: str) -> None:
    """The digest the user's client signs with (sha1, sha256, sha384, sha512)."""
    world.set_digest(user, parse_enum(DigestAlgorithm, digest, "digest"))


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


def _known_rule(rule_id: str) -> None:
    """A misspelt rule ID is a mistake in the scenario, not a finding that is absent."""
    try:
        rule(rule_id)  # the catalogue, or a declared family of pkilint's codes
    except InputError:
        raise InputError(
            "a rule ID of the catalogue (smime-harness steps --json lists them)", repr(rule_id)
        ) from None


# The catalogue's IDs, then each declared family of another tool's codes (pkilint's).
_RULE_IDS = (*RULES, *(f"{family.prefix}<code>" for family in RULE_FAMILIES))


@check('the policy reports "{rule_id}"', values={"rule_id": _RULE_IDS})
def policy_reports(world: World, rule_id: str) -> None:
    _known_rule(rule_id)
    findings = world.findings_of_last_send()
    if not any(f.rule_id == rule_id for f in findings):
        raise _fail(f"a finding {rule_id!r}", _findings_text(findings))
    world.expect_findings(f for f in findings if f.rule_id == rule_id)


_SEVERITY_WORDS = {"an error": Severity.ERROR, "a warning": Severity.WARNING, "info": Severity.INFO}


@check(
    'the policy reports "{rule_id}" as {severity}',
    values={"rule_id": _RULE_IDS, "severity": _SEVERITY_WORDS},
    example={"rule_id": "smime.sig.hash.sha1", "severity": "an error"},
)
def policy_reports_as(world: World, rule_id: str, severity: str) -> None:
    _known_rule(rule_id)
    if severity not in _SEVERITY_WORDS:
        raise _one_of("a severity", _SEVERITY_WORDS, severity)
    wanted = _SEVERITY_WORDS[severity]
    findings = world.findings_of_last_send()
    matching = [f for f in findings if f.rule_id == rule_id]
    if not any(f.severity is wanted for f in matching):
        raise _fail(f"{rule_id!r} as {severity}", _findings_text(findings))
    world.expect_findings(f for f in matching if f.severity is wanted)


@check('the policy reports nothing about "{rule_id}"', values={"rule_id": _RULE_IDS})
def policy_silent(world: World, rule_id: str) -> None:
    _known_rule(rule_id)
    findings = world.findings_of_last_send()
    matching = tuple(f for f in findings if f.rule_id == rule_id)
    if matching:
        raise _fail(f"no finding {rule_id!r}", _findings_text(matching))

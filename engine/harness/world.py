"""The state one scenario builds up: a clock, a network, organizations, users, outcomes.

Step functions are thin adapters over this object, and this object is a thin
adapter over the engine's public model (:mod:`engine.mail.organization`,
:mod:`engine.mail.client`). Every message that crosses the network is kept as an
artifact (real RFC 5322 bytes) for the report and for checks with
``openssl cms``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509

from engine._internal.files import write_atomically
from engine.clock import FixedClock
from engine.cms.algorithms import ContentCipher, DigestAlgorithm
from engine.errors import InputError, describe_bytes
from engine.findings import Finding
from engine.mail.client import MailClient
from engine.mail.contacts import Contact
from engine.mail.organization import Organization
from engine.mail.profile import DEFAULT_PROFILE, ClientProfile
from engine.mail.prompt import Choice, Prompt
from engine.mail.reading import ContactOutcome, MessageStatus, ReceivedMessage
from engine.mail.sending import SendOutcome, SendStatus
from engine.mail.transport import MailNetwork
from engine.pki.authority import Enrollment
from engine.pki.issuance import CertificateMemo
from engine.pki.keys import KeySource, KeyType
from engine.pki.trust import TrustCache
from engine.policy.compliance import check_decision, check_message
from engine.policy.document import Policy, default_policy
from engine.smime.classification import EntityKind, classify
from engine.smime.entity import header_block
from engine.smime.sender import senders

# Scenarios run at a fixed instant, so certificates, signatures and reports are reproducible.
SCENARIO_EPOCH = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)

# Which of a user's certificates a step means: the ones held now, or those before a renewal.
GENERATIONS = ("current", "previous")

# Path validations of judged messages a world keeps when its owner hands it none.
JUDGE_TRUST_SIZE = 1024


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Artifact:
    """A message as it crossed the network."""

    name: str
    sender: str
    recipients: tuple[str, ...]
    data: bytes
    signed: bool
    encrypted: bool


@dataclasses.dataclass(slots=True)
class PromptEvent:
    """A prompt a user was shown, and the answer once given."""

    user: str
    prompt: Prompt
    answer: Choice | None = None
    step: str | None = None  # the step that raised it, as the feature file says it


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SendRecord:
    """A finished send (sent, refused or cancelled) and the message it produced, if any."""

    sender: User
    outcome: SendOutcome
    artifact: Artifact | None


@dataclasses.dataclass(slots=True)
class User:
    name: str
    address: str
    organization: Organization
    client: MailClient


class OutsideFolderError(InputError):
    """A step names a file outside the feature's folder tree and the allowed folders."""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


class World:
    """Everything a scenario has made so far."""

    def __init__(
        self,
        *,
        keys: KeySource,
        artifact_dir: Path | None = None,
        memo: CertificateMemo | None = None,
        trust_cache: TrustCache | None = None,
    ) -> None:
        self.keys = keys
        # Caches belong to whoever owns the batch of scenarios (the pytest session hands
        # each world the run's); a world made alone owns its own. Scenarios of one run
        # repeat the same pool-key certificates, anchors, CRLs and times.
        self._memo = memo if memo is not None else CertificateMemo()
        self._judge_trust = trust_cache if trust_cache is not None else TrustCache(JUDGE_TRUST_SIZE)
        self.clock = FixedClock(SCENARIO_EPOCH)
        self.network = MailNetwork()
        self.organizations: dict[str, Organization] = {}
        self.users: dict[str, User] = {}
        self.default_profile: ClientProfile = DEFAULT_PROFILE
        self.artifacts: list[Artifact] = []
        self.artifact_dir = artifact_dir
        self._made: Path | None = None  # the artifact folder once created
        self.last_send: SendOutcome | None = None
        self.last_contact: ContactOutcome | None = None
        self.last_outcome_by: dict[str, SendOutcome | ContactOutcome] = {}
        self.opened: dict[str, ReceivedMessage] = {}
        self.enrollments: dict[str, Enrollment] = {}
        self.previous_enrollments: dict[str, Enrollment] = {}
        self._tokens: dict[str, str] = {}  # enrollment tokens issued, by user
        self.prompt_log: list[PromptEvent] = []
        self.sends: list[SendRecord] = []
        self.base_dir: Path = Path.cwd()  # files named in steps are relative to it, and in it
        self.allowed_dirs: tuple[Path, ...] = ()  # other folders steps may name files in
        self.step_source: str | None = None  # "feature:line" of the step running, for errors
        self._send_began_at = 0
        self.policy: Policy | None = None  # chosen for every organization by a step
        self.org_policies: dict[str, Policy] = {}  # chosen for one organization
        self.findings: list[Finding] = []  # every policy finding of the scenario, for the report
        self.last_findings: tuple[Finding, ...] | None = None  # those of the last send
        self.expected_findings: list[Finding] = []  # those a Then step asked for
        self.step: str | None = None  # the step running now, for messages that point back
        self._last_sent_by: tuple[User, SendOutcome, Artifact | None] | None = None

    # -- organizations and users ------------------------------------------

    def organization(self, name: str) -> Organization:
        try:
            return self.organizations[name.lower()]
        except KeyError:
            known = ", ".join(o.name for o in self.organizations.values()) or "none yet"
            raise InputError(f"an organization set up earlier ({known})", repr(name)) from None

    def add_organization(
        self, name: str, *, intermediate: bool = False, domain: str | None = None
    ) -> Organization:
        """An organization; its mail domain is ``<name>.example`` unless ``domain`` is given."""
        if name.lower() in self.organizations:
            org = self.organizations[name.lower()]
            if domain is not None and domain.lower() != org.domain:
                raise InputError(f"{org.name}'s domain {org.domain}", repr(domain))
            return org
        org = Organization(
            name,
            domain or f"{_slug(name)}.example",
            clock=self.clock,
            network=self.network,
            keys=self.keys,
            intermediate=intermediate,
            policy=self.policy or default_policy(),
            memo=self._memo,
        )
        self.organizations[name.lower()] = org
        org.publish_crl()
        return org

    def user(self, name: str) -> User:
        try:
            return self.users[name.lower()]
        except KeyError:
            known = ", ".join(u.name for u in self.users.values()) or "none yet"
            raise InputError(f"a user set up earlier ({known})", repr(name)) from None

    def add_user(
        self,
        name: str,
        org_name: str,
        *,
        enrolled: bool = True,
        separate: bool = False,
        key_type: KeyType = KeyType.RSA_2048,
    ) -> User:
        org = self.organization(org_name)
        address = org.address(name)
        if enrolled:
            self.enrollments[name.lower()] = org.enroll(
                address, key_type=key_type, separate_encryption_key=separate
            )
        else:
            org.add_mailbox(address)
        client = MailClient(
            address=address, organization=org, clock=self.clock, profile=self.default_profile
        )
        chosen = self.chosen_policy(org)
        if chosen is not None:
            chosen.configure(client)
        user = User(name=name, address=address, organization=org, client=client)
        self.users[name.lower()] = user
        return user

    # -- what a user or an organization decides --------------------------

    def issue_token(self, org_name: str, name: str) -> None:
        """The organization opens a mailbox for ``name`` and issues an enrollment token,
        kept for the user's own enrollment later in the scenario."""
        org = self.organization(org_name)
        address = org.add_mailbox(name)
        self._tokens[name.lower()] = org.ca.issue_token(address).secret

    def enroll_with_token(self, name: str, org_name: str) -> Enrollment:
        """The user enrolls with the token issued to them (EnrollmentError if it was used)."""
        org = self.organization(org_name)
        try:
            token = self._tokens[name.lower()]
        except KeyError:
            raise InputError(f"an enrollment token issued to {name} earlier", "none") from None
        return org.ca.enroll(org.address(name), token)

    def trust(self, name: str, org_name: str) -> None:
        """The user trusts the organization's root CA (IMP-03)."""
        self.user(name).client.trust(self.organization(org_name).ca.root)

    def distrust(self, name: str, org_name: str) -> None:
        """The user withdraws trust in the organization's root CA."""
        self.user(name).client.distrust(self.organization(org_name).ca.root)

    def use_profile(self, profile: ClientProfile, name: str | None = None) -> None:
        """One user's client (or every client, those set up later too) behaves as ``profile``."""
        if name is not None:
            self.user(name).client.use_profile(profile)
            return
        self.default_profile = profile
        for user in self.users.values():
            user.client.use_profile(profile)

    def set_processing_delay(self, delay: dt.timedelta) -> None:
        """Every client (those set up later too) processes new contacts after ``delay``."""
        self.default_profile = self.default_profile.with_delay(delay)
        for user in self.users.values():
            user.client.use_profile(user.client.profile.with_delay(delay))

    def set_cipher(self, name: str, cipher: ContentCipher) -> None:
        """The one content cipher the user's client encrypts with."""
        self.user(name).client.encrypt_with(cipher)

    def set_digest(self, name: str, digest: DigestAlgorithm) -> None:
        """The digest the user's client signs with."""
        self.user(name).client.sign_with(digest)

    def add_contact(
        self,
        name: str,
        other: str,
        certificate: x509.Certificate,
        issuers: Iterable[x509.Certificate] = (),
    ) -> None:
        """The user holds a contact for ``other`` with ``certificate``, processed already."""
        now = self.clock.now()
        self.user(name).client.import_contact(
            Contact(
                address=self.user(other).address,
                certificate=certificate,
                issuers=tuple(issuers),
                added_at=now,
                processed_at=now,
            )
        )

    def note_contact(self, name: str, outcome: ContactOutcome) -> None:
        """The outcome of adding a contact; a prompt it raised is kept for the report."""
        self.last_contact = outcome
        if outcome.prompt is not None:
            self.note_prompt(name, outcome.prompt)

    def begin_step(self, text: str) -> None:
        """The step now running, as the feature file says it, for messages that point back."""
        self.step = text

    def address(self, name: str) -> str:
        """A user's address; names not set up as users are taken as addresses if they contain @."""
        if "@" in name:
            return name
        return self.user(name).address

    # -- messages ---------------------------------------------------------

    def record(self, sender: User, outcome: SendOutcome) -> None:
        """Keep a send's outcome: its prompt for the report, its message as an artifact."""
        self.last_send = outcome
        self.last_outcome_by[sender.name.lower()] = outcome
        if outcome.prompt is not None:
            self.note_prompt(sender.name, outcome.prompt)
        artifact: Artifact | None = None
        if outcome.message is not None:
            index = len(self.artifacts) + 1
            recipients = outcome.delivery.delivered if outcome.delivery else ()
            artifact = Artifact(
                name=f"{index:02d}-{_slug(sender.name)}-{_kind(outcome)}.eml",
                sender=sender.address,
                recipients=recipients,
                data=outcome.message,
                signed=outcome.signed,
                encrypted=outcome.encrypted,
            )
            self._keep(artifact)
        if outcome.status is not SendStatus.PROMPT:
            self.sends.append(SendRecord(sender=sender, outcome=outcome, artifact=artifact))
        self.last_findings = None
        self._last_sent_by = (sender, outcome, artifact)
        # Every send is judged, under the default policy when the scenario chose none,
        # so the report's findings cover every scenario.
        self.judge(sender, outcome, artifact)

    # -- policy ---------------------------------------------------------------

    def chosen_policy(self, org: Organization) -> Policy | None:
        """The policy a step chose for ``org``; None when the scenario chose none."""
        return self.org_policies.get(org.name.lower(), self.policy)

    def choose_policy(self, policy: Policy, org_name: str | None = None) -> None:
        """Every organization (or one) follows ``policy`` from now on, clients included."""
        if org_name is None:
            self.policy = policy
            self.org_policies.clear()
            targets = list(self.organizations.values())
        else:
            org = self.organization(org_name)
            self.org_policies[org.name.lower()] = policy
            targets = [org]
        for org in targets:
            org.adopt(policy)
            for user in self.users.values():
                if user.organization is org:
                    policy.configure(user.client)

    def judge(
        self, sender: User, outcome: SendOutcome, artifact: Artifact | None
    ) -> tuple[Finding, ...]:
        """Findings for a send under the sender's organization's policy (its own copy)."""
        policy = self.chosen_policy(sender.organization) or default_policy()
        client = sender.client
        now = self.clock.now()
        found: list[Finding] = []
        if outcome.decision is not None:
            found.extend(
                check_decision(
                    outcome.decision, policy, at=now, subject=f"{sender.name}'s send decision"
                )
            )
        if outcome.message is not None:
            found.extend(
                check_message(
                    outcome.message,
                    policy,
                    anchors=client.trust_store,
                    at=now,
                    crls=self.network.all_crls(),
                    credentials=client.encryption_credentials,
                    subject=f"message {artifact.name}" if artifact else "message",
                    trust_cache=self._judge_trust,
                )
            )
        self.last_findings = tuple(found)
        self.findings.extend(f for f in found if f not in self.findings)
        return self.last_findings

    def expect_findings(self, findings: Iterable[Finding]) -> None:
        """A Then step found what it asked for: the report shows these as expected."""
        self.expected_findings.extend(f for f in findings if f not in self.expected_findings)

    def unanswered_sends(self) -> tuple[SendRecord, ...]:
        """Sends still waiting at a prompt: their decision (who is unusable, and why) is part
        of the record even when the scenario ends before an answer."""
        waiting = []
        for user in self.users.values():
            outcome = self.last_outcome_by.get(user.name.lower())
            if (
                isinstance(outcome, SendOutcome)
                and outcome.status is SendStatus.PROMPT
                and user.client.pending_prompt is outcome.prompt
            ):
                waiting.append(SendRecord(sender=user, outcome=outcome, artifact=None))
        return tuple(waiting)

    def findings_of_last_send(self) -> tuple[Finding, ...]:
        """The last send's findings, judged now under the default policy if none was chosen."""
        if self.last_findings is not None:
            return self.last_findings
        if self._last_sent_by is None:
            raise InputError("a message sent earlier in the scenario", "none")
        sender, outcome, artifact = self._last_sent_by
        return self.judge(sender, outcome, artifact)

    def note_prompt(self, name: str, prompt: Prompt) -> None:
        self.prompt_log.append(
            PromptEvent(user=self.user(name).address, prompt=prompt, step=self.step)
        )

    def unanswered(self, prompt: Prompt) -> PromptEvent | None:
        """The newest event that showed ``prompt`` and has no answer yet."""
        for event in reversed(self.prompt_log):
            if event.prompt == prompt and event.answer is None:
                return event
        return None

    def note_opened(self, name: str, received: ReceivedMessage) -> ReceivedMessage:
        """A message a user opened; a contact the client captured from it counts as added."""
        self.opened[name.lower()] = received
        if received.captured is not None:
            self.last_contact = received.captured
        return received

    def note_answer(self, name: str, choice: Choice) -> None:
        """The answer to the user's newest unanswered prompt."""
        address = self.user(name).address
        for event in reversed(self.prompt_log):
            if event.user == address and event.answer is None:
                event.answer = choice
                return

    def receive(self, name: str, message: bytes, *, source: Path) -> None:
        """Deliver a message from outside the scenario (a partner's real .eml) to a mailbox."""
        user = self.user(name)
        if not header_block(message).get_all("From"):
            # Not a message (a key, a password file): refuse it before it is kept as an
            # artifact, and say what it is without showing any of it.
            raise InputError(
                "a message (.eml) with a From: header field (RFC 5322 §3.6.2)",
                describe_bytes(message),
                source=self.step_source or str(source),
            )
        delivery = self.network.submit(message, recipients=[user.address])
        if not delivery.delivered:
            raise InputError(f"a mailbox for {user.address}", "none on the network")
        kind = _content_kind(message)
        self._keep(
            Artifact(
                name=f"{len(self.artifacts) + 1:02d}-received-{_slug(source.stem)}.eml",
                sender=", ".join(_authors(message)),
                recipients=delivery.delivered,
                data=message,
                signed=kind == "signed",
                encrypted=kind == "encrypted",
            )
        )

    def _keep(self, artifact: Artifact) -> None:
        self.artifacts.append(artifact)
        if self.artifact_dir is not None:
            if self._made != self.artifact_dir:
                self.artifact_dir.mkdir(parents=True, exist_ok=True)
                self._made = self.artifact_dir
            # Renamed into place: a link standing at the name is replaced, never followed.
            write_atomically(self.artifact_dir / artifact.name, artifact.data)

    def enrollment(self, name: str, which: str = "current") -> Enrollment:
        if which not in GENERATIONS:
            raise InputError(f"which certificates ({', '.join(GENERATIONS)})", repr(which))
        table = self.enrollments if which == "current" else self.previous_enrollments
        try:
            return table[name.lower()]
        except KeyError:
            raise InputError(f"a {which} enrollment of {name}", "none") from None

    def encryption_certificate(self, name: str, which: str = "current") -> x509.Certificate:
        return self.enrollment(name, which).encryption.certificate

    def renew(self, name: str) -> Enrollment:
        user = self.user(name)
        self.previous_enrollments[name.lower()] = self.enrollment(name)
        enrollment = user.organization.renew(user.address)
        self.enrollments[name.lower()] = enrollment
        return enrollment

    def begin_send(self) -> None:
        self._send_began_at = len(self.artifacts)

    def sent_since_send_began(self) -> int:
        return len(self.artifacts) - self._send_began_at

    def require_send(self) -> SendOutcome:
        if self.last_send is None:
            raise InputError("a message sent earlier in the scenario", "none")
        return self.last_send

    def pending_prompt(self) -> Prompt:
        for user in self.users.values():
            if user.client.pending_prompt is not None:
                return user.client.pending_prompt
        raise InputError("an open prompt", "none")

    def opened_by(self, name: str) -> ReceivedMessage:
        try:
            return self.opened[name.lower()]
        except KeyError:
            raise InputError(f"a message {name} opened earlier", "none") from None

    def last_opened(self) -> ReceivedMessage:
        if not self.opened:
            raise InputError("a message opened earlier", "none")
        return list(self.opened.values())[-1]

    def open_last(self, name: str) -> ReceivedMessage:
        user = self.user(name)
        return self.note_opened(name, user.client.open(self.last_message_for(name)))

    def can_read_last_message(self, name: str) -> bool:
        """Whether ``name`` can read the last message sent, with their own keys and client."""
        outcome = self.require_send()
        if outcome.message is None:
            return False
        user = self.user(name)
        received = user.client.open(outcome.message)
        return received.body is not None and received.status is not MessageStatus.CANNOT_DECRYPT

    def resolve(self, path: str, what: str = "a file") -> Path:
        """A file named in a step, inside the feature file's folder tree (or an allowed folder).

        Every step that takes a file comes here. Symbolic links are resolved first, so a
        link inside the folder that points outside is outside: a scenario must not copy
        ``../../etc/passwd`` or a private key elsewhere on the machine into a report.
        """
        candidate = Path(path)
        joined = candidate if candidate.is_absolute() else self.base_dir / candidate
        resolved = joined.resolve()
        folders = (self.base_dir.resolve(), *(folder.resolve() for folder in self.allowed_dirs))
        if not any(resolved.is_relative_to(folder) for folder in folders):
            allowed = " or ".join(str(folder) for folder in folders)
            raise OutsideFolderError(
                f"{what} inside {allowed} (the feature's folder; allow another with --allow-files)",
                f"{path!r}, which is {resolved}",
                source=self.step_source,
            )
        return resolved

    def read_file(self, path: str, what: str) -> tuple[Path, bytes]:
        """The bytes of a file named in a step, or an error naming the file and the folder."""
        resolved = self.resolve(path, what)
        try:
            return resolved, resolved.read_bytes()
        except FileNotFoundError:
            source = self.step_source or path
            raise InputError(f"{what} at {resolved}", "no such file", source=source) from None
        except OSError as exc:
            found = exc.strerror or str(exc)
            source = self.step_source or path
            raise InputError(f"a readable {what} at {resolved}", found, source=source) from None

    def install(self, name: str, enrollment: Enrollment) -> None:
        """Credentials imported from elsewhere become the user's current ones."""
        user = self.user(name)
        if name.lower() in self.enrollments:
            self.previous_enrollments[name.lower()] = self.enrollments[name.lower()]
        self.enrollments[name.lower()] = enrollment
        user.client.install(enrollment)

    def last_message_for(self, name: str, sender: str | None = None) -> bytes:
        user = self.user(name)
        inbox = user.client.inbox()
        if sender is not None:
            sender_address = self.address(sender).lower()
            inbox = tuple(m for m in inbox if sender_address in _authors(m))
        if not inbox:
            who = f" from {sender}" if sender else ""
            raise InputError(f"a message{who} in {name}'s inbox", "an empty inbox")
        return inbox[-1]

    def advance(self, delta: dt.timedelta) -> None:
        self.clock.advance(delta)


def _kind(outcome: SendOutcome) -> str:
    if outcome.encrypted:
        return "encrypted"
    return "signed" if outcome.signed else "plain"


def _content_kind(message: bytes) -> str:
    """signed, encrypted or plain, as the engine classifies the top-level entity (RFC 8551 §3.9);
    a pkcs7-mime entity whose CMS content cannot be read counts as encrypted, as it is shown."""
    try:
        kind = classify(message)
    except InputError:
        return "encrypted"
    if kind in (EntityKind.SIGNED_MULTIPART, EntityKind.SIGNED_OPAQUE, EntityKind.CERTS_ONLY):
        return "signed"
    if kind in (EntityKind.ENVELOPED, EntityKind.AUTH_ENVELOPED):
        return "encrypted"
    return "plain"


def _authors(message: bytes) -> tuple[str, ...]:
    """The From: mailboxes, lowercased, read by the engine's one address rule (engine.smime.sender):
    none when a From: field is unreadable."""
    found = senders([("From", value) for value in header_block(message).get_all("From")])
    return () if found.problem is not None else tuple(a.lower() for a in found.authors)

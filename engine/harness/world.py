"""What happens in a scenario: sends, messages opened, prompts, findings, artifacts.

:class:`World` is the scenario's :class:`~engine.harness.scene.Scene` (its
organizations, people and settings) and what happens in it. Step functions are thin
adapters over this object, and this object is a thin adapter over the engine's public
model (:mod:`engine.mail.organization`, :mod:`engine.mail.client`). Every message that
crosses the network is kept as an artifact (real RFC 5322 bytes) for the report and
for checks with ``openssl cms``; every send is judged under the sender's
organization's policy (:mod:`engine.policy.compliance`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

from engine._internal.files import write_atomically
from engine.errors import InputError, describe_bytes
from engine.findings import Finding
from engine.harness.scene import Scene, User, slug
from engine.mail.prompt import Choice, Prompt
from engine.mail.reading import ContactOutcome, MessageStatus, ReceivedMessage
from engine.mail.sending import SendOutcome, SendStatus
from engine.pki.issuance import CertificateMemo
from engine.pki.keys import KeySource
from engine.pki.trust import TrustCache
from engine.policy.decision_checks import check_decision
from engine.policy.document import default_policy
from engine.policy.message_checks import check_message
from engine.smime.classification import EntityKind, classify
from engine.smime.entity import header_block
from engine.smime.sender import senders

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


class World(Scene):
    """Everything a scenario has made so far: its scene, and what happened in it."""

    def __init__(
        self,
        *,
        keys: KeySource,
        artifact_dir: Path | None = None,
        memo: CertificateMemo | None = None,
        trust_cache: TrustCache | None = None,
    ) -> None:
        super().__init__(keys=keys, memo=memo)
        # Owned like the scene's memo: the run's when the session hands one over. Scenarios
        # of one run judge the same anchors, CRLs and times.
        self._judge_trust = trust_cache if trust_cache is not None else TrustCache(JUDGE_TRUST_SIZE)
        self.artifacts: list[Artifact] = []
        self.artifact_dir = artifact_dir
        self._made: Path | None = None  # the artifact folder once created
        self.last_send: SendOutcome | None = None
        self.last_contact: ContactOutcome | None = None
        self.last_outcome_by: dict[str, SendOutcome | ContactOutcome] = {}
        self.opened: dict[str, ReceivedMessage] = {}
        self.prompt_log: list[PromptEvent] = []
        self.sends: list[SendRecord] = []
        self._send_began_at = 0
        self.findings: list[Finding] = []  # every policy finding of the scenario, for the report
        self.last_findings: tuple[Finding, ...] | None = None  # those of the last send
        self.expected_findings: list[Finding] = []  # those a Then step asked for
        self.step: str | None = None  # the step running now, for messages that point back
        self._last_sent_by: tuple[User, SendOutcome, Artifact | None] | None = None

    def note_contact(self, name: str, outcome: ContactOutcome) -> None:
        """The outcome of adding a contact; a prompt it raised is kept for the report."""
        self.last_contact = outcome
        if outcome.prompt is not None:
            self.note_prompt(name, outcome.prompt)

    def begin_step(self, text: str) -> None:
        """The step now running, as the feature file says it, for messages that point back."""
        self.step = text

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
                name=f"{index:02d}-{slug(sender.name)}-{_kind(outcome)}.eml",
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
                name=f"{len(self.artifacts) + 1:02d}-received-{slug(source.stem)}.eml",
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

"""Then steps about what a send did: the prompt, the outcome, the cipher, the certificates.

The prompt a person is shown and the choices it offers; whether the message was sent,
refused or cancelled, signed or encrypted, and with which content cipher; which of a
recipient's certificates it was encrypted to and where that came from; and why a
recipient was listed as unusable (IMP-03: an authority the sender does not trust).
"""

from __future__ import annotations

from engine.cms.algorithms import ContentCipher, parse_enum
from engine.harness.scene import GENERATIONS
from engine.harness.steps.expectation import describe, fail, one_of
from engine.harness.steps.library import check
from engine.harness.world import World
from engine.mail.profile import Source
from engine.mail.prompt import Choice
from engine.mail.sending import SendOutcome, SendStatus
from engine.mail.usability import UNTRUSTED_ROOT


def _last_prompt_text(world: World, user: str) -> str:
    prompt = world.user(user).client.pending_prompt
    if prompt is None:
        last = world.last_outcome_by.get(user.lower())
        raise fail(f"{user} to see a prompt", f"no prompt (last outcome: {describe(last)})")
    return prompt.text


@check('{user:w} is told "{text}"')
def is_told(world: World, user: str, text: str) -> None:
    shown = _last_prompt_text(world, user)
    if shown != text:
        raise fail(f"the prompt {text!r}", repr(shown))


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
        raise fail(", ".join(c.value for c in wanted), ", ".join(c.value for c in prompt.choices))


@check("nothing has been sent")
def nothing_sent(world: World) -> None:
    if world.sent_since_send_began():
        raise fail("nothing to have left the client", f"{world.sent_since_send_began()} message(s)")


@check("{user:w} has no messages")
def no_messages(world: World, user: str) -> None:
    inbox = world.user(user).client.inbox()
    if inbox:
        raise fail(f"an empty inbox for {user}", f"{len(inbox)} message(s)")


@check(
    'the outcome is "{status}"',
    values={"status": [s.value for s in SendStatus]},
    example={"status": "sent"},
)
def outcome_is(world: World, status: str) -> None:
    expected = next((s for s in SendStatus if s.value == status), None)
    if expected is None:
        raise one_of("a send outcome", [s.value for s in SendStatus], status)
    outcome = world.require_send()
    if outcome.status is not expected:
        raise fail(f"outcome {status!r}", describe(outcome))


@check("the sending was cancelled")
def was_cancelled(world: World) -> None:
    outcome_is(world, SendStatus.CANCELLED.value)


@check('the sending is refused because "{reason}"', example={"reason": "cannot encrypt"})
def refused_because(world: World, reason: str) -> None:
    outcome = world.require_send()
    if outcome.status is not SendStatus.REFUSED or reason not in (outcome.reason or ""):
        raise fail(f"a refusal because {reason!r}", describe(outcome))


@check("the message is sent unencrypted by the sender's choice")
def sent_plain_by_choice(world: World) -> None:
    outcome = world.require_send()
    if not (outcome.status is SendStatus.SENT and not outcome.encrypted):
        raise fail("an unencrypted message sent", describe(outcome))
    if not outcome.plaintext_by_choice:
        raise fail("the outcome to say plaintext was the sender's choice", "it does not")


@check("the message is sent signed and unencrypted")
def sent_signed_plain(world: World) -> None:
    outcome = world.require_send()
    if not (outcome.status is SendStatus.SENT and outcome.signed and not outcome.encrypted):
        raise fail("a signed, unencrypted message sent", describe(outcome))


@check("the message is sent encrypted")
def sent_encrypted(world: World) -> None:
    outcome = world.require_send()
    if not (outcome.status is SendStatus.SENT and outcome.encrypted):
        raise fail("an encrypted message sent", describe(outcome))


@check(
    'the message is encrypted with "{cipher}"',
    values={"cipher": [c.value for c in ContentCipher]},
)
def encrypted_with(world: World, cipher: str) -> None:
    parse_enum(ContentCipher, cipher, "cipher")
    outcome = world.require_send()
    decision = outcome.decision
    chosen = decision.cipher.cipher if decision and decision.cipher else None
    if not (outcome.status is SendStatus.SENT and outcome.encrypted):
        raise fail(f"a message sent encrypted with {cipher}", describe(outcome))
    if chosen is None or chosen.value != cipher:
        raise fail(cipher, chosen.value if chosen else "no cipher")


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
        raise fail(f"{owner}'s {which} encryption certificate", found)


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
        raise fail(f"source {source!r}", found[0].source if found else "no decision")


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
                raise fail(f"reason containing {reason!r}", repr(item.reason))
            return
    raise fail(f"{user} among the unusable recipients", "not listed")


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
        raise fail(f"{user} to have tried to send encrypted mail", describe(outcome))
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
        raise fail(
            f"a recipient listed as unusable because {organization.name}'s certificate "
            f"authority is not trusted ({UNTRUSTED_ROOT})",
            f"{describe(outcome)}; recipients: {'; '.join(found)}",
        )

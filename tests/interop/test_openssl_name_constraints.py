"""Email name constraints on a PKI made with the openssl command line (RFC 5280 §4.2.1.10).

A CA whose certificate says ``nameConstraints = permitted;email:contoso.example`` may
vouch only for mailboxes at contoso.example. Where a certificate has no rfc822Name in
its subjectAltName, the constraint applies to the emailAddress of its subject: a
mailbox certificate with ``emailAddress=bob@fabrikam.example`` and no SAN under such a
CA is not trusted (OpenSSL: "permitted subtree violation"). Every case is also put to
``openssl cms -verify``, and the engine must agree with it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from openssl_ca import CA_EXTENSIONS, MAILBOX_EXTENSIONS, Issued, OpensslPKI

from engine.cli.commands import main
from engine.harness.world import World
from engine.pki.keys import KeyPool
from engine.pki.trust import validate_certificate
from engine.policy.compliance import check_message
from engine.policy.document import builtin_policy
from engine.smime.verification import verify

pytestmark = pytest.mark.interop

AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)

# The CAs, by the nameConstraints line of their extension file ("" for none).
CONSTRAINTS = {
    "host": "nameConstraints = critical, permitted;email:contoso.example",
    "domain": "nameConstraints = critical, permitted;email:.contoso.example",
    "mailbox": "nameConstraints = critical, permitted;email:alice@contoso.example",
    "excluded": "nameConstraints = critical, excluded;email:fabrikam.example",
    "excluded-domain": "nameConstraints = critical, excluded;email:.fabrikam.example",
    # Only a DNS constraint: mailboxes are not restricted by it.
    "dns-only": "nameConstraints = critical, permitted;DNS:contoso.example",
}


class PartnerPKI:
    """One unconstrained root with an intermediate per constraint, a constrained root,
    and a two-level path whose upper intermediate holds the constraint."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.ca = OpensslPKI(binary, folder)
        self.root = self.ca.issue("root", "/CN=Partner Root", CA_EXTENSIONS)
        self.intermediates = {
            name: self.ca.issue(
                f"int-{name}", f"/CN=Partner {name} CA", CA_EXTENSIONS + line, issuer=self.root
            )
            for name, line in CONSTRAINTS.items()
        }
        # The constraint in the trust anchor itself (OpenSSL applies it too).
        self.constrained_root = self.ca.issue(
            "root-constrained", "/CN=Contoso Only Root", CA_EXTENSIONS + CONSTRAINTS["host"]
        )
        # root -> host-constrained CA -> unconstrained sub-CA -> mailbox.
        self.sub = self.ca.issue(
            "sub", "/CN=Partner Sub CA", CA_EXTENSIONS, issuer=self.intermediates["host"]
        )
        self._count = 0

    def path(self, where: str) -> tuple[Issued, list[Issued], Issued]:
        """(issuer, the intermediates to carry, anchor) for a CA named by ``where``."""
        if where == "constrained-root":
            return self.constrained_root, [], self.constrained_root
        if where == "sub":
            return self.sub, [self.sub, self.intermediates["host"]], self.root
        issuer = self.intermediates[where]
        return issuer, [issuer], self.root

    def mailbox(self, where: str, email: str | None, san: str | None) -> Issued:
        self._count += 1
        subject = "/CN=Bob" + (f"/emailAddress={email}" if email else "")
        extensions = MAILBOX_EXTENSIONS + (f"subjectAltName = email:{san}\n" if san else "")
        return self.ca.issue(
            f"mailbox{self._count}", subject, extensions, issuer=self.path(where)[0]
        )


@pytest.fixture(scope="module")
def partner(openssl_binary: str, tmp_path_factory: pytest.TempPathFactory) -> PartnerPKI:
    return PartnerPKI(openssl_binary, tmp_path_factory.mktemp("partner-pki"))


CONTENT = b"Content-Type: text/plain\r\n\r\nPlease pay invoice 42.\r\n"


NC = "name-constraints"  # the status word (TrustStatus.NAME_CONSTRAINTS)

# (CA, subject emailAddress, SAN rfc822Name, expected). ``None`` expected: trusted.
CASES = [
    # The reported case: no SAN, the subject's emailAddress outside the permitted host.
    ("host", "bob@fabrikam.example", None, NC),
    ("host", "bob@contoso.example", None, None),
    ("host", "bob@CONTOSO.EXAMPLE", None, None),  # host names compare case-insensitively
    ("host", "bob@mail.contoso.example", None, NC),  # host only
    ("domain", "bob@mail.contoso.example", None, None),
    ("domain", "bob@contoso.example", None, NC),  # below it only
    ("domain", "bob@evilcontoso.example", None, NC),
    ("mailbox", "alice@contoso.example", None, None),
    ("mailbox", "bob@contoso.example", None, NC),
    ("excluded", "bob@fabrikam.example", None, NC),
    ("excluded", "bob@contoso.example", None, None),
    ("excluded-domain", "bob@sales.fabrikam.example", None, NC),
    ("excluded-domain", "bob@fabrikam.example", None, None),
    ("dns-only", "bob@fabrikam.example", None, None),
    ("constrained-root", "bob@fabrikam.example", None, NC),
    ("constrained-root", "bob@contoso.example", None, None),
    ("sub", "bob@fabrikam.example", None, NC),
    ("sub", "bob@contoso.example", None, None),
    # With an rfc822Name SAN: the SAN is constrained (cryptography's verifier does this;
    # the verdict must carry the same reason word) ...
    ("host", None, "bob@fabrikam.example", NC),
    ("excluded", None, "bob@fabrikam.example", NC),
    ("host", None, "bob@contoso.example", None),
    # ... and so is a subject emailAddress beside it, as OpenSSL does.
    ("host", "bob@fabrikam.example", "bob@contoso.example", NC),
]


@pytest.mark.parametrize(("where", "email", "san", "expected"), CASES)
def test_engine_and_openssl_agree_on_email_name_constraints(
    partner: PartnerPKI,
    where: str,
    email: str | None,
    san: str | None,
    expected: str | None,
) -> None:
    _, chain, anchor = partner.path(where)
    mailbox = partner.mailbox(where, email, san)
    sender = san or email
    assert sender is not None
    signed = partner.ca.sign(CONTENT, mailbox, chain=chain, sender=sender)

    result = verify(signed, anchors=[anchor.certificate], at=AT)
    openssl = partner.ca.verify(signed, anchor, int(AT.timestamp()))
    assert result.intact
    if expected is None:
        assert result.status == "valid", result.reasons
        assert openssl.returncode == 0, openssl.stderr
    else:
        assert result.trust.status.value == expected, result.reasons
        assert result.status == expected
        assert "RFC 5280 §4.2.1.10" in result.trust.reason
        # The reason names the mailbox at fault, whichever check caught it.
        reason = result.trust.reason
        assert "is outside the email names" in reason or "is excluded by" in reason, reason
        assert openssl.returncode != 0
        assert b"subtree violation" in openssl.stderr, openssl.stderr


@pytest.mark.parametrize(
    ("where", "utf8_mailbox", "expected"),
    [
        ("host", "bob@fabrikam.example", NC),
        ("excluded", "bob@fabrikam.example", NC),
        ("host", "bøb@contoso.example", None),
        ("excluded", "bob@contoso.example", None),
    ],
)
def test_email_constraints_apply_to_an_smtputf8mailbox_as_openssl_does(
    partner: PartnerPKI, where: str, utf8_mailbox: str, expected: str | None
) -> None:
    # RFC 8398 §6: rfc822Name constraints apply to SmtpUTF8Mailbox names. A certificate
    # whose SAN holds an allowed rfc822Name beside an SmtpUTF8Mailbox outside the CA's
    # constraints was valid here, while OpenSSL says "permitted subtree violation".
    issuer, chain, anchor = partner.path(where)
    partner._count += 1
    san = f"email:bob@contoso.example, otherName:1.3.6.1.5.5.7.8.9;UTF8:{utf8_mailbox}"
    mailbox = partner.ca.issue(
        f"utf8-{partner._count}",
        "/CN=Bob",
        MAILBOX_EXTENSIONS + f"subjectAltName = {san}\n",
        issuer=issuer,
    )
    signed = partner.ca.sign(CONTENT, mailbox, chain=chain, sender="bob@contoso.example")
    result = verify(signed, anchors=[anchor.certificate], at=AT)
    openssl = partner.ca.verify(signed, anchor, int(AT.timestamp()))
    if expected is None:
        assert result.status == "valid", result.reasons
        assert openssl.returncode == 0, openssl.stderr
    else:
        assert result.status == expected, result.reasons
        assert f"SmtpUTF8Mailbox {utf8_mailbox}" in result.trust.reason
        assert b"subtree violation" in openssl.stderr, openssl.stderr


def test_the_reason_names_the_mailbox_and_the_ca(partner: PartnerPKI) -> None:
    mailbox = partner.mailbox("host", "bob@fabrikam.example", None)
    result = validate_certificate(
        mailbox.certificate,
        intermediates=[partner.intermediates["host"].certificate],
        anchors=[partner.root.certificate],
        at=AT,
    )
    assert result.status.value == NC
    assert "subject emailAddress bob@fabrikam.example" in result.reason
    assert "Partner host CA" in result.reason and "contoso.example" in result.reason
    # The path found is kept, for the report to show which CA refused.
    assert len(result.chain) == 3


def test_verify_command_says_name_constraints_and_exits_1(
    partner: PartnerPKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mailbox = partner.mailbox("host", "bob@fabrikam.example", None)
    signed = partner.ca.sign(
        CONTENT, mailbox, chain=[partner.intermediates["host"]], sender="bob@fabrikam.example"
    )
    path = tmp_path / "signed.eml"
    path.write_bytes(signed)
    code = main(
        ["verify", "--trust", str(partner.root.cert), "--at", AT.isoformat(), "--json", str(path)]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["status"] == "name-constraints"
    assert report["trusted"] is False and report["trust"] == "name-constraints"


def test_check_message_reports_the_untrusted_signer(partner: PartnerPKI) -> None:
    mailbox = partner.mailbox("excluded", "bob@fabrikam.example", None)
    signed = partner.ca.sign(
        CONTENT,
        mailbox,
        chain=[partner.intermediates["excluded"]],
        sender="bob@fabrikam.example",
    )
    for policy in ("outlook98", "strict"):
        findings = check_message(
            signed, builtin_policy(policy), anchors=[partner.root.certificate], at=AT
        )
        trust = [f for f in findings if f.rule_id == "smime.msg.signature.trust"]
        assert trust and trust[0].severity.value == "error"
        assert "name-constraints" in trust[0].message


def test_the_mail_client_shows_name_constraints_even_after_trust_on_first_use(
    partner: PartnerPKI, key_pool: KeyPool
) -> None:
    world = World(keys=key_pool.view(), artifact_dir=None)
    world.add_organization("Contoso")
    reader = world.add_user("UserA", "Contoso")
    mailbox = partner.mailbox("host", "bob@fabrikam.example", None)
    # The message carries the whole path, its root included: what trust on first use takes.
    signed = partner.ca.sign(
        CONTENT,
        mailbox,
        chain=[partner.intermediates["host"], partner.root],
        sender="bob@fabrikam.example",
    )
    reader.client.trust(partner.root.certificate)
    assert reader.client.open(signed).status.value == NC

    newcomer = world.add_user("UserC", "Contoso")
    newcomer.client.trust_on_first_use = True
    assert newcomer.client.open(signed).status.value == NC

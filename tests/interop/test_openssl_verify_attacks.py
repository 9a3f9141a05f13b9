"""Signed messages made with ``openssl cms -sign`` on a partner PKI made with ``openssl ca``,
then treated as an attacker would: what the engine must not call valid.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openssl_ca import CA_EXTENSIONS, MAILBOX_EXTENSIONS, Issued, OpensslPKI

from engine.compliance import check_message
from engine.policy import builtin_policy
from engine.verification import verify

pytestmark = pytest.mark.interop

AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
SENDER = "bob@fabrikam.example"
MESSAGE = (
    b"From: bob@fabrikam.example\r\nTo: alice@contoso.example\r\nSubject: invoice\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nPlease pay invoice 42.\r\n"
)


class Partner:
    def __init__(self, binary: str, folder: Path) -> None:
        self.ca = OpensslPKI(binary, folder)
        self.root = self.ca.issue("root", "/CN=Fabrikam Root", CA_EXTENSIONS)
        self.issuing = self.ca.issue(
            "issuing", "/CN=Fabrikam Mail CA", CA_EXTENSIONS, issuer=self.root
        )
        extensions = MAILBOX_EXTENSIONS + f"subjectAltName = email:{SENDER}\n"
        self.rsa = self.ca.issue("bob-rsa", "/CN=Bob", extensions, issuer=self.issuing, kind="rsa")
        self.ec = self.ca.issue("bob-ec", "/CN=Bob", extensions, issuer=self.issuing)

    def sign(self, signer: Issued, **options: object) -> bytes:
        return self.ca.sign(MESSAGE, signer, chain=[self.issuing], **options)  # type: ignore[arg-type]

    def check(self, message: bytes) -> str:
        return verify(message, anchors=[self.root.certificate], at=AT).status


@pytest.fixture(scope="module")
def partner(openssl_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Partner:
    return Partner(openssl_binary, tmp_path_factory.mktemp("fabrikam"))


# --- the hash inside the signature algorithm (RFC 5652 §5.4-§5.6) ----------------------


def test_pss_with_an_mgf1_hash_other_than_the_digest_is_not_intact(partner: Partner) -> None:
    # openssl writes RSASSA-PSS-params naming sha256 and leaves out maskGenAlgorithm: its
    # default is MGF1 with SHA-1 (RFC 4055 §3.1), a second hash the digest does not name.
    message = partner.sign(
        partner.rsa, keyopts=["rsa_padding_mode:pss", "rsa_mgf1_md:sha1"], digest="sha256"
    )
    result = verify(message, anchors=[partner.root.certificate], at=AT)
    assert result.status == "algorithm-mismatch"
    assert result.hashes == (result.digest, result.hashes[1]) and result.hashes[1].value == "sha1"
    findings = check_message(
        message, builtin_policy("strict"), anchors=[partner.root.certificate], at=AT
    )
    rules = {(f.rule_id, f.severity.value) for f in findings}
    assert ("smime.sig.hash.sha1", "error") in rules
    assert ("smime.msg.signature.intact", "error") in rules


@pytest.mark.parametrize(
    ("signer", "digest", "keyopts"),
    [
        ("rsa", "sha256", []),
        ("rsa", "sha512", []),
        ("rsa", "sha256", ["rsa_padding_mode:pss"]),  # MGF1 over the same hash
        ("rsa", "sha384", ["rsa_padding_mode:pss", "rsa_mgf1_md:sha384"]),
        ("ec", "sha256", []),
        ("ec", "sha384", []),
    ],
)
def test_openssl_signatures_whose_hashes_agree_are_valid(
    partner: Partner, signer: str, digest: str, keyopts: list[str]
) -> None:
    issued = partner.rsa if signer == "rsa" else partner.ec
    message = partner.sign(issued, digest=digest, keyopts=keyopts)
    assert partner.check(message) == "valid"

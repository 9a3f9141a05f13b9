"""Signed messages made with ``openssl cms -sign`` on a partner PKI made with ``openssl ca``,
then treated as an attacker would: what the engine must not call valid.
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
from engine.policy.compliance import check_message
from engine.policy.document import builtin_policy
from engine.smime.verification import verify

pytestmark = pytest.mark.interop

AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
SENDER = "bob@fabrikam.example"
CONTENT = b"Content-Type: text/plain\r\n\r\nPlease pay invoice 42 to account 1234.\r\n"


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
        return self.ca.sign(CONTENT, signer, chain=[self.issuing], sender=SENDER, **options)  # type: ignore[arg-type]

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


# --- multipart/signed is exactly two parts (RFC 1847 §2.1) ------------------------------

UPDATE = b"Content-Type: text/plain\r\n\r\nUPDATE: pay to account MALLORY instead.\r\n"


def _boundary(message: bytes) -> bytes:
    return message.split(b'boundary="', 1)[1].split(b'"', 1)[0]


def _close(message: bytes) -> bytes:
    return b"\r\n--" + _boundary(message) + b"--"


def third_part(message: bytes) -> bytes:
    """An unsigned part added after the signature, before the close delimiter."""
    close = _close(message)
    assert message.count(close) == 1
    extra = b"\r\n--" + _boundary(message) + b"\r\n" + UPDATE.removesuffix(b"\r\n")
    return message.replace(close, extra + close)


def open_close_delimiter(message: bytes) -> bytes:
    """The close delimiter turned into an ordinary one: the body parts never end."""
    return message.replace(_close(message), _close(message)[:-2])


def no_close_delimiter(message: bytes) -> bytes:
    """The close delimiter and what follows it cut off."""
    return message[: message.index(_close(message))] + b"\r\n"


def third_part_and_no_close(message: bytes) -> bytes:
    return no_close_delimiter(third_part(message))


def third_part_first(message: bytes) -> bytes:
    """The unsigned part between the content and the signature: the signature part moves
    to third place, and whatever the verifier takes as second is not a signature."""
    boundary = _boundary(message)
    delimiter = b"\r\n--" + boundary + b"\r\nContent-Type: application/pkcs7-signature"
    assert message.count(delimiter) == 1
    extra = b"\r\n--" + boundary + b"\r\n" + UPDATE.removesuffix(b"\r\n")
    return message.replace(delimiter, extra + delimiter)


BROKEN = {
    "a third, unsigned part": third_part,
    "the close delimiter without its --": open_close_delimiter,
    "no close delimiter": no_close_delimiter,
    "a third part and no close delimiter": third_part_and_no_close,
    "an unsigned part between the content and the signature": third_part_first,
}


@pytest.mark.parametrize("case", list(BROKEN))
@pytest.mark.parametrize("signer", ["rsa", "ec"])
def test_a_multipart_signed_that_is_not_exactly_two_parts_is_not_valid(
    partner: Partner, case: str, signer: str
) -> None:
    genuine = partner.sign(partner.rsa if signer == "rsa" else partner.ec)
    assert partner.check(genuine) == "valid"
    result = verify(BROKEN[case](genuine), anchors=[partner.root.certificate], at=AT)
    assert result.status == "malformed-multipart", result.reasons
    assert not result.intact and result.trusted
    assert any("RFC 1847 §2.1" in reason for reason in result.reasons)
    # What is handed on as the signed content is the first part alone.
    assert b"MALLORY" not in result.content


def test_an_unsigned_part_before_the_signature_is_named(partner: Partner) -> None:
    # Once refused as unreadable (exit 2, and an InputError out of the mail client's
    # open): as malformed as a third part after the signature, and said so.
    attacked = third_part_first(partner.sign(partner.rsa))
    result = verify(attacked, anchors=[partner.root.certificate], at=AT)
    assert result.status == "malformed-multipart"
    assert any("second part of the multipart/signed is text/plain" in r for r in result.reasons)


def test_a_second_part_that_is_not_a_signature_is_still_refused(partner: Partner) -> None:
    genuine = partner.sign(partner.rsa)
    two = genuine.replace(b"Content-Type: application/pkcs7-signature", b"Content-Type: text/plain")
    with pytest.raises(ValueError, match="application/pkcs7-signature"):
        verify(two, anchors=[partner.root.certificate], at=AT)


def test_verify_and_check_message_say_malformed_multipart(
    partner: Partner, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = []
    for index, attack in enumerate(BROKEN.values()):
        path = tmp_path / f"attacked-{index}.eml"
        path.write_bytes(attack(partner.sign(partner.rsa)))
        paths.append(str(path))
    root = str(partner.root.cert)
    at = AT.isoformat()
    code = main(["verify", "--trust", root, "--at", at, "--json", *paths])
    results = json.loads(capsys.readouterr().out)["results"]
    assert code == 1
    assert [r["status"] for r in results] == ["malformed-multipart"] * len(paths)
    for path in paths:
        code = main(["check-message", path, "--trust", root, "--at", at, "--policy", "strict"])
        out = capsys.readouterr().out
        assert code == 1
        assert "smime.msg.signature.intact" in out and "malformed-multipart" in out


def test_the_mail_client_does_not_show_an_extra_part_as_signed(
    partner: Partner, key_pool: KeyPool
) -> None:
    world = World(keys=key_pool.view(), artifact_dir=None)
    world.add_organization("Contoso")
    reader = world.add_user("UserA", "Contoso")
    reader.client.trust(partner.root.certificate)
    genuine = partner.sign(partner.rsa)
    assert reader.client.open(genuine).status.value == "valid"
    for attack in BROKEN.values():
        received = reader.client.open(attack(genuine))
        assert received.status.value == "malformed-multipart"
        assert received.body is not None and "MALLORY" not in received.body
        assert reader.client.add_to_contacts(received).status.value == "refused"


def test_preamble_and_epilogue_are_allowed_and_ignored(partner: Partner) -> None:
    # RFC 2046 §5.1.1: text before the first delimiter and after the close delimiter is
    # no part, whatever it looks like: clients do not show it, so it changes nothing.
    genuine = partner.sign(partner.rsa)
    boundary = _boundary(genuine)
    head, _, body = genuine.partition(b"\r\n\r\n")
    preamble = b"UPDATE: pay to account MALLORY (preamble)\r\n--" + boundary + b"-not\r\n"
    epilogue = b"\r\n--" + boundary + b"\r\n" + UPDATE + b"--" + boundary + b"--\r\n"
    dressed = head + b"\r\n\r\n" + preamble + body.rstrip(b"\r\n") + epilogue
    result = verify(dressed, anchors=[partner.root.certificate], at=AT)
    assert result.status == "valid", result.reasons
    assert b"MALLORY" not in result.content

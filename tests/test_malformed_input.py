"""Malformed input fails where it is parsed, typed, and never escapes as a bug (issue 10).

The signed messages here come from the ``openssl`` command line: ``-cades`` and a
receipt request add two signed attributes the engine does not know
(signingCertificateV2 and receiptRequest, RFC 5035), which asn1crypto parses lazily.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives.serialization import Encoding

from engine.cli.commands import main
from engine.clock import FixedClock
from engine.cms.signed import parse_signed_data
from engine.errors import DecodeError, InputError, SmimeError
from engine.pki.authority import OrgCA
from engine.pki.credential import Credential
from engine.pki.keys import KeyPool, private_key_pem
from engine.policy.compliance import check_message
from engine.policy.document import builtin_policy
from engine.smime.inspection import inspect
from engine.smime.verification import verify
from engine.strategies import der_length_offsets
from tests.conftest import EPOCH, enroll

AT = EPOCH
RECEIPT_REQUEST = "1.2.840.113549.1.9.16.2.1"  # RFC 2634 §2.7, unknown to the engine
MESSAGE = (
    b"From: alice@contoso.example\r\nTo: bob@contoso.example\r\nSubject: hi\r\n"
    b"Content-Type: text/plain\r\n\r\nHello Bob.\r\n"
)


@dataclasses.dataclass(frozen=True)
class Pki:
    folder: Path
    root: Path
    alice: Credential
    ca: OrgCA


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory, key_pool: KeyPool) -> Pki:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command line is not installed")
    folder = tmp_path_factory.mktemp("malformed")
    ca = OrgCA.create("Contoso", "contoso.example", clock=FixedClock(EPOCH), keys=key_pool)
    alice = enroll(ca, "alice@contoso.example").signing
    root = folder / "root.pem"
    root.write_bytes(ca.root.public_bytes(Encoding.PEM))
    (folder / "alice.pem").write_bytes(alice.certificate.public_bytes(Encoding.PEM))
    (folder / "alice.key").write_bytes(private_key_pem(alice.private_key))
    chain = b"".join(c.public_bytes(Encoding.PEM) for c in alice.chain)
    (folder / "chain.pem").write_bytes(chain or ca.root.public_bytes(Encoding.PEM))
    (folder / "message.eml").write_bytes(MESSAGE)
    return Pki(folder=folder, root=root, alice=alice, ca=ca)


def openssl_signed(pki: Pki, *extra: str) -> bytes:
    """A multipart/signed message made by ``openssl cms -sign`` with Alice's key."""
    out = pki.folder / "signed.eml"
    subprocess.run(
        [
            "openssl", "cms", "-sign", "-in", str(pki.folder / "message.eml"),
            "-signer", str(pki.folder / "alice.pem"), "-inkey", str(pki.folder / "alice.key"),
            "-certfile", str(pki.folder / "chain.pem"), "-out", str(out), *extra,
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return out.read_bytes()


@pytest.fixture(scope="module")
def cades(pki: Pki) -> bytes:
    # signingCertificateV2 and receiptRequest: two signed attributes the engine does not know.
    return openssl_signed(
        pki, "-cades", "-receipt_request_to", "bo@contoso.example", "-receipt_request_from",
        "alice@contoso.example",
    )  # fmt: skip


_P7S = re.compile(
    rb"(filename=\"?smime\.p7s\"?\r?\n\r?\n)([A-Za-z0-9+/=\r\n]+?)(\r?\n\r?\n|\r?\n--)"
)


def signature_der(message: bytes) -> bytes:
    found = _P7S.search(message)
    assert found is not None
    return base64.b64decode(re.sub(rb"\s", b"", found.group(2)))


def with_signature(message: bytes, der: bytes) -> bytes:
    """``message`` with its smime.p7s part holding ``der``, base64 in 64-column lines."""
    found = _P7S.search(message)
    assert found is not None
    encoded = base64.b64encode(der)
    lines = b"\n".join(encoded[i : i + 64] for i in range(0, len(encoded), 64))
    return message[: found.start(2)] + lines + message[found.end(2) :]


def signed_attributes_span(der: bytes) -> tuple[int, int]:
    """Where the first SignerInfo's signed attributes lie in ``der`` (start, end)."""
    info = cms.ContentInfo.load(der)["content"]["signer_infos"][0]
    encoded = bytes(info["signed_attrs"].dump())
    start = der.find(encoded)
    assert start > 0
    return start, start + len(encoded)


def changed(der: bytes, at: int, value: int) -> bytes:
    return der[:at] + bytes([value]) + der[at + 1 :]


def oid_offset(der: bytes, dotted: str) -> int:
    """The offset of the last contents octet of the OBJECT IDENTIFIER ``dotted`` in ``der``."""
    from asn1crypto import core

    encoded = bytes(core.ObjectIdentifier(dotted).dump())
    at = der.find(encoded)
    assert at > 0, dotted
    return at + len(encoded) - 1


# --- signed attributes --------------------------------------------------------------------


def test_openssl_message_with_unknown_attributes_verifies(pki: Pki, cades: bytes) -> None:
    result = verify(cades, anchors=[pki.ca.root], at=AT)
    assert result.status == "valid", result.reasons
    assert RECEIPT_REQUEST in parse_signed_data(signature_der(cades)).signers[0].attributes.types  # type: ignore[union-attr]


def test_an_unknown_attribute_oid_changed_into_a_known_type_fails_in_the_parse(
    pki: Pki, cades: bytes
) -> None:
    # One byte: receiptRequest (…16.2.1) becomes id-aa-timeStampToken (…16.2.14), whose
    # value must be a ContentInfo. Before, parsing passed and the signature check raised
    # a bare ValueError from asn1crypto's lazy parse: "unexpected ValueError (a bug)".
    der = signature_der(cades)
    bad = changed(der, oid_offset(der, RECEIPT_REQUEST), 14)
    with pytest.raises(DecodeError, match=r"signed attribute .*1\.2\.840\.113549\.1\.9\.16\.2\.14"):
        parse_signed_data(bad)
    message = with_signature(cades, bad)
    for call in (
        lambda: verify(message, anchors=[pki.ca.root], at=AT),
        lambda: inspect(message),
        lambda: check_message(message, builtin_policy("strict"), anchors=[pki.ca.root], at=AT),
    ):
        with pytest.raises(InputError, match="signed attribute"):
            call()


def test_an_unknown_attribute_oid_changed_to_another_unknown_one_is_tampering(
    pki: Pki, cades: bytes
) -> None:
    der = signature_der(cades)
    bad = changed(der, oid_offset(der, RECEIPT_REQUEST), 3)  # …16.2.3, still unknown
    result = verify(with_signature(cades, bad), anchors=[pki.ca.root], at=AT)
    assert (result.intact, result.status) == (False, "tampered")


def test_a_value_that_does_not_decode_as_its_string_type_fails_in_the_parse(
    pki: Pki, cades: bytes
) -> None:
    # The receiptRequest value's SEQUENCE tag made a BMPString (UTF-16) of odd length:
    # asn1crypto raised UnicodeDecodeError when the signature check re-encoded it.
    der = signature_der(cades)
    at = oid_offset(der, RECEIPT_REQUEST) + 1  # the SET OF values
    assert der[at] == 0x31 and der[at + 2] == 0x30
    length = der[at + 3]
    assert length < 0x80 and length % 2 == 1  # odd: no UTF-16 (the address sets the length)
    bad = changed(der, at + 2, 0x1E)
    with pytest.raises(DecodeError, match=r"signed attribute 1\.2\.840\.113549\.1\.9\.16\.2\.1\b"):
        parse_signed_data(bad)


# Tag octets become each of these: the string and time types, and a few others.
_TAGS = (0x00, 0x04, 0x06, 0x0C, 0x13, 0x14, 0x16, 0x17, 0x18, 0x1E, 0x30, 0x31)
_OID_OCTETS = (0x00, 0x0B, 0x0E, 0x80)


def test_every_tag_and_oid_octet_of_the_signed_attributes_changed_is_typed_or_a_result(
    pki: Pki, cades: bytes
) -> None:
    """Each tag octet and each OBJECT IDENTIFIER octet in the signed attributes, changed
    to each of a few values: verify returns a result or raises the engine's own error."""
    der = signature_der(cades)
    start, end = signed_attributes_span(der)
    lengths = [at for at in der_length_offsets(der) if start < at < end]
    edits = {(at - 1, tag) for at in lengths for tag in _TAGS if der[at - 1] != tag}
    for at in lengths:
        if der[at - 1] == 0x06:  # an OBJECT IDENTIFIER: each contents octet
            for offset in range(at + 1, at + 1 + der[at]):
                edits.update((offset, v) for v in _OID_OCTETS if der[offset] != v)
    assert len(edits) > 300
    decode_errors = 0
    for at, value in sorted(edits):
        message = with_signature(cades, changed(der, at, value))
        try:
            verify(message, anchors=[pki.ca.root], at=AT)
        except DecodeError:
            decode_errors += 1
        except SmimeError:
            pass
    assert decode_errors > 50  # the sweep reached the parser's refusals


# --- certificates carried -----------------------------------------------------------------


def _signer_certificate_offsets(der: bytes, pki: Pki) -> tuple[int, int]:
    cert = pki.alice.certificate.public_bytes(Encoding.DER)
    start = der.find(cert)
    assert start > 0
    return start, start + len(cert)


def test_a_duplicate_extension_in_a_carried_certificate_is_a_decode_error(
    pki: Pki, cades: bytes
) -> None:
    # subjectKeyIdentifier (2.5.29.14) renamed basicConstraints (2.5.29.19): cryptography
    # raised DuplicateExtension (no ValueError) from path validation, a bug report.
    der = signature_der(cades)
    start, end = _signer_certificate_offsets(der, pki)
    at = der.find(bytes.fromhex("0603551d0e"), start, end) + 4
    bad = with_signature(cades, changed(der, at, 0x13))
    with pytest.raises(DecodeError, match=r"certificate \d in the message.*Duplicate"):
        verify(bad, anchors=[pki.ca.root], at=AT)
    with pytest.raises(DecodeError):
        inspect(bad)


def test_a_name_attribute_of_the_wrong_string_type_is_a_decode_error(
    pki: Pki, cades: bytes
) -> None:
    # The subject's commonName as a BIT STRING: cryptography raised TypeError.
    der = signature_der(cades)
    start, end = _signer_certificate_offsets(der, pki)
    at = der.rfind(bytes.fromhex("0603550403"), start, end) + 5  # the last CN: the subject's
    assert der[at] in (0x0C, 0x13)
    bad = with_signature(cades, changed(der, at, 0x03))
    with pytest.raises(DecodeError, match=r"certificate \d in the message"):
        verify(bad, anchors=[pki.ca.root], at=AT)


# --- the command line ----------------------------------------------------------------------


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_verify_reports_every_good_file_and_one_line_for_the_bad_one(
    pki: Pki, cades: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: str
) -> None:
    # Before: no output for the good files and "unexpected ValueError ... (a bug)", exit 2.
    der = signature_der(cades)
    good, bad, good2 = tmp_path / "good.eml", tmp_path / "bad.eml", tmp_path / "good2.eml"
    good.write_bytes(cades)
    bad.write_bytes(with_signature(cades, changed(der, oid_offset(der, RECEIPT_REQUEST), 14)))
    good2.write_bytes(openssl_signed(pki, "-nodetach"))
    argv = ["verify", "--trust", str(pki.root), "--at", "2026-06-01T13:00:00Z", "-j", jobs]
    capsys.readouterr()
    code = main([*argv, str(good), str(bad), str(good2)])
    out, err = capsys.readouterr()
    assert code == 2
    assert out.splitlines() == [f"{good}: valid", f"{good2}: valid"]
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"smime-harness: error: {bad}: expected signed attribute ")
    assert "unexpected" not in err and "bug" not in err


def test_decrypt_batch_reports_every_file_and_one_line_for_the_bad_one(
    pki: Pki, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.cms.algorithms import ContentCipher
    from engine.smime.encryption import encrypt

    key = tmp_path / "alice.key"
    key.write_bytes(private_key_pem(pki.alice.private_key))
    cert = tmp_path / "alice.pem"
    cert.write_bytes(pki.alice.certificate.public_bytes(Encoding.PEM))
    good = tmp_path / "in" / "good.eml"
    good.parent.mkdir()
    good.write_bytes(encrypt(MESSAGE, [pki.alice.certificate], cipher=ContentCipher.AES_256_GCM))
    bad = tmp_path / "in" / "bad.eml"
    bad.write_bytes(MESSAGE)  # not encrypted at all
    out = tmp_path / "out"
    out.mkdir()
    capsys.readouterr()
    argv = ["decrypt", "--cert", str(cert), "--key", str(key), "--out-dir", str(out)]
    code = main([*argv, str(good), str(bad), "-j", "2"])
    stdout, err = capsys.readouterr()
    assert code == 2
    assert stdout.startswith(f"{good}: decrypted")
    assert len(err.splitlines()) == 1 and str(bad) in err, err
    assert (out / "good.eml").exists()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_bug_on_one_input_is_reported_for_it_alone(
    pki: Pki,
    cades: bytes,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    jobs: str,
) -> None:
    # A real bug (here a stand-in) still says "a bug", but for its input only.
    from engine.smime import verification
    from engine.smime.verification_result import VerificationResult

    real = verification.Verifier.verify

    def flaky(self: verification.Verifier, message: bytes) -> VerificationResult:
        if b"BUG" in message:
            raise RuntimeError("a stand-in\nfor a bug")
        return real(self, message)

    monkeypatch.setattr(verification.Verifier, "verify", flaky)
    monkeypatch.delenv("SMIME_HARNESS_DEBUG", raising=False)
    good, buggy = tmp_path / "good.eml", tmp_path / "buggy.eml"
    good.write_bytes(cades)
    buggy.write_bytes(b"Subject: BUG\r\n" + cades)
    capsys.readouterr()
    argv = ["verify", "--trust", str(pki.root), "--at", "2026-06-01T13:00:00Z", "-j", jobs]
    code = main([*argv, str(buggy), str(good)])
    out, err = capsys.readouterr()
    assert code == 2
    assert out.splitlines() == [f"{good}: valid"]
    assert err.splitlines() == [
        f"smime-harness: error: {buggy}: unexpected RuntimeError: a stand-in for a bug "
        "(a bug: please report it)"
    ]


# --- instants and durations ----------------------------------------------------------------

OUT_OF_RANGE = ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00")


@pytest.mark.parametrize("text", OUT_OF_RANGE)
def test_an_instant_outside_years_1_to_9999_in_utc_is_an_input_error(text: str) -> None:
    from engine.clock import parse_instant

    with pytest.raises(InputError, match="from year 0001 to 9999 in UTC"):
        parse_instant(text)  # was: OverflowError


@pytest.mark.parametrize("text", OUT_OF_RANGE)
@pytest.mark.parametrize("command", ["verify", "check-cert", "check-message", "sign"])
def test_at_out_of_range_is_one_usage_line_on_every_command(
    pki: Pki,
    cades: bytes,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    text: str,
) -> None:
    message = tmp_path / "signed.eml"
    message.write_bytes(cades)
    folder = pki.folder
    argv = {
        "verify": ["verify", "--trust", str(pki.root), str(message)],
        "check-cert": ["check-cert", str(folder / "alice.pem")],
        "check-message": ["check-message", str(message), "--trust", str(pki.root)],
        "sign": [
            "sign", "--cert", str(folder / "alice.pem"), "--key", str(folder / "alice.key"),
            "--in", str(folder / "message.eml"), "--out", str(tmp_path / "out.eml"),
        ],
    }[command]  # fmt: skip
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--at", text])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert len(err.splitlines()) == 1, err
    assert "argument --at" in err and "Traceback" not in err


def test_a_duration_too_large_for_the_clock_is_an_input_error() -> None:
    from engine.clock import duration

    with pytest.raises(InputError, match="at most 999999999 days"):
        duration(days=10**12)  # was: OverflowError from a "… days pass" step
    clock = FixedClock(EPOCH)
    with pytest.raises(InputError, match="no later than 9999-12-31"):
        clock.advance(duration(days=999_999_999))  # was: OverflowError
    assert clock.now() == EPOCH


def test_a_signing_time_before_year_1_in_utc_fails_in_the_parse(pki: Pki, cades: bytes) -> None:
    # asn1crypto reads GeneralizedTime year 0 as its own extended_datetime, which inspect
    # then used as a verification time (AttributeError/TypeError).
    from engine.smime.signing import sign

    clock = FixedClock(EPOCH.replace(year=2050))  # 2050 on: GeneralizedTime (RFC 5652 §11.3)
    signed = sign(MESSAGE, pki.alice, clock=clock)
    der = signature_der(signed)
    written = b"20500601120000Z"
    assert der.count(written) == 1
    bad = with_signature(signed, der.replace(written, b"00000601120000Z"))
    with pytest.raises(DecodeError, match="signingTime from 0001 to 9999"):
        parse_signed_data(signature_der(bad))
    with pytest.raises(DecodeError, match="signingTime"):
        inspect(bad)


# --- nesting ---------------------------------------------------------------------------------


def nested_multiparts(levels: int, *, eight_bit: bool = True) -> bytes:
    """A message whose text part sits inside ``levels`` multipart/mixed entities."""
    text = "Gr\u00fc\u00dfe" if eight_bit else "Hello"
    body = f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    for level in range(levels):
        boundary = f"b{level}"
        body = (
            f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
            f"--{boundary}\r\n{body}\r\n--{boundary}--\r\n"
        )
    return ("From: alice@contoso.example\r\nSubject: deep\r\nMIME-Version: 1.0\r\n" + body).encode()


def test_sign_of_300_nested_multiparts_is_one_usage_line(
    pki: Pki, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: "unexpected RecursionError ... (a bug: please report it)".
    deep = tmp_path / "deep.eml"
    deep.write_bytes(nested_multiparts(300))
    capsys.readouterr()
    code = main(
        [
            "sign", "--cert", str(pki.folder / "alice.pem"), "--key", str(pki.folder / "alice.key"),
            "--in", str(deep), "--out", str(tmp_path / "out.eml"),
        ]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines() == [
        "smime-harness: error: expected MIME entities nested at most 100 levels deep "
        "(multipart, message/rfc822), found an entity nested 101 levels deep"
    ]
    assert not (tmp_path / "out.eml").exists()


def test_mime_nested_100_levels_deep_is_still_read(pki: Pki) -> None:
    from engine.smime.entity import MAX_NESTING, parse_email, parse_entity
    from engine.smime.signing import sign

    assert MAX_NESTING == 100
    signed = sign(nested_multiparts(100), pki.alice, clock=FixedClock(EPOCH))
    assert verify(signed, anchors=[pki.ca.root], at=AT).status == "valid"
    for parse in (parse_entity, parse_email):
        parse(nested_multiparts(100))
        with pytest.raises(InputError, match="nested 101 levels deep"):
            parse(nested_multiparts(101))


def test_message_rfc822_nesting_counts_too() -> None:
    from engine.smime.entity import parse_entity

    inner = b"Subject: x\r\n\r\nbody\r\n"
    for _ in range(150):
        inner = b"Content-Type: message/rfc822\r\n\r\n" + inner
    with pytest.raises(InputError, match="nested 101 levels deep"):
        parse_entity(inner)


def test_a_client_reading_a_deeply_nested_message_gets_an_input_error() -> None:
    from engine.mail.plaintext import body_text

    with pytest.raises(InputError, match="at most 100 levels"):
        body_text(nested_multiparts(1000, eight_bit=False))  # was: RecursionError


@pytest.mark.parametrize(
    "deep", ["name = " + "[" * 5000 + "]" * 5000, "x = " + "{a=" * 5000 + "1" + "}" * 5000]
)
def test_a_policy_nested_5000_deep_is_one_usage_line(
    pki: Pki, tmp_path: Path, capsys: pytest.CaptureFixture[str], deep: str
) -> None:
    from engine.policy.document import PolicyError, policy_from_text

    with pytest.raises(PolicyError, match="nested at most 100 levels deep"):
        policy_from_text(deep, file="deep.toml")  # was: RecursionError
    policy = tmp_path / "deep.toml"
    policy.write_text(deep)
    capsys.readouterr()
    code = main(["check-cert", str(pki.folder / "alice.pem"), "--policy", str(policy)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines() == [
        f"smime-harness: error: {policy}: line 1: expected arrays and tables nested at most "
        "100 levels deep, found more than 100 levels"
    ]


def test_brackets_in_toml_strings_and_comments_do_not_count_as_nesting() -> None:
    from engine.policy.document import policy_from_text

    brackets = "[" * 150
    text = (
        f'extends = "strict"\nname = "x"  # {brackets}\n'
        f'description = "{brackets} \\" {brackets}"\n'
        f"# {brackets}\n"
    )
    assert policy_from_text(text, file="x.toml").description.startswith("[[[")
    multi = f"extends = \"strict\"\nname = 'x'\ndescription = '''{brackets}\n'{brackets}'''\n"
    assert policy_from_text(multi, file="x.toml").name == "x"


def test_an_aware_time_that_leaves_the_calendar_in_utc_is_an_input_error(pki: Pki) -> None:
    import datetime as dt

    early = dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    with pytest.raises(InputError, match="verification time from year 0001 to 9999"):
        verify(MESSAGE, anchors=[pki.ca.root], at=early)  # was: OverflowError
    with pytest.raises(InputError, match="clock time from year 0001"):
        FixedClock(early)


def test_deep_content_and_nested_layers_never_reach_the_recursion_limit(pki: Pki) -> None:
    # verify, decrypt and inspect do not parse the content's MIME tree: a 1,000-deep
    # 7-bit message signs, verifies, encrypts and decrypts; nine S/MIME layers are refused.
    from engine.smime.decryption import decrypt
    from engine.smime.encryption import encrypt
    from engine.smime.opening import MAX_DEPTH, open_message
    from engine.smime.signing import sign

    clock = FixedClock(EPOCH)
    deep = nested_multiparts(1000, eight_bit=False)
    signed = sign(deep, pki.alice, clock=clock)
    assert verify(signed, anchors=[pki.ca.root], at=AT).status == "valid"
    assert decrypt(encrypt(signed, [pki.alice.certificate]), pki.alice).content.endswith(b"--\r\n")
    assert inspect(signed)
    layered = MESSAGE
    for _ in range(MAX_DEPTH + 1):
        layered = sign(layered, pki.alice, clock=clock, opaque=True)
    for read in (
        lambda: inspect(layered),
        lambda: open_message(layered, credentials=[pki.alice], anchors=[pki.ca.root], at=AT),
        lambda: check_message(layered, builtin_policy("strict"), anchors=[pki.ca.root], at=AT),
    ):
        with pytest.raises(InputError, match=f"at most {MAX_DEPTH} nested"):
            read()


def test_a_parse_error_does_not_repeat_the_input(pki: Pki) -> None:
    # asn1crypto's "Error parsing <the bytes> to a UTCTime" quoted the input itself.
    from engine.smime.signing import sign

    signed = sign(MESSAGE, pki.alice, clock=FixedClock(EPOCH))
    der = signature_der(signed)
    written = b"260601120000Z"
    assert der.count(written) == 1
    bad = der.replace(written, b"2606SECRET00Z")
    with pytest.raises(DecodeError) as error:
        parse_signed_data(bad)
    assert "signing_time" in str(error.value) and "UTCTime" in str(error.value)
    assert "SECRET" not in str(error.value)

"""A recipient the engine cannot use is skipped, not fatal (issue 10, RFC 5652 §6.2).

openssl builds an EnvelopedData for an RSA recipient next to a KEKRecipientInfo
(``-secretkey``) and a PasswordRecipientInfo (``-pwri_password``). openssl 3.0 cannot
encrypt to X25519, so the test adds a genuine RFC 8418 KeyAgreeRecipientInfo for an
X25519 certificate itself (the content key is unwrapped from the KEK recipient, the
X25519 agreement and the key wrap done with ``cryptography``) and an unknown
OtherRecipientInfo, with asn1crypto. Decrypting with the RSA key must succeed,
``inspect`` must describe every recipient and say which it cannot use, and a key of
a type the engine cannot decrypt with is "not a recipient" (exit 1), not bad input.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from asn1crypto import cms, core, keys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, x448, x25519
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap
from cryptography.hazmat.primitives.serialization import pkcs12
from smime_messages import pkcs7_der, with_pkcs7_der
from smime_peers import OpenSSL, pem
from smime_pki import InteropPKI

from engine.cli.commands import main
from engine.cms.key_agreement import encode_ecc_cms_shared_info
from engine.errors import NotARecipientError
from engine.pki.keys import private_key_pem
from engine.smime import decryption
from engine.smime.inspection import RecipientKind, Support, inspect

pytestmark = pytest.mark.interop

CONTENT = b"Content-Type: text/plain\r\n\r\nfor several kinds of recipient\r\n"
KEK = bytes(range(16))
KEK_ID = "c0ffee"
ID_X25519 = "1.3.101.110"
ID_X448 = "1.3.101.111"
STD_DH_SHA256 = "1.3.132.1.11.1"
AES256_WRAP = "2.16.840.1.101.3.4.1.45"
UNKNOWN_ORI = "1.3.6.1.4.1.55555.1.2"


@dataclasses.dataclass
class Mixed:
    message: bytes
    x25519_key: x25519.X25519PrivateKey
    x25519_cert: x509.Certificate


def _x25519_certificate(
    key: x25519.X25519PrivateKey | x448.X448PrivateKey, at: dt.datetime
) -> x509.Certificate:
    issuer_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Elsewhere CA")])
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Xavier")])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(name)
        .serial_number(x509.random_serial_number())
        .not_valid_before(at - dt.timedelta(days=1))
        .not_valid_after(at + dt.timedelta(days=365))
        .public_key(key.public_key())
        .add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name("xavier@elsewhere.example")]), False
        )
        .sign(issuer_key, hashes.SHA256())
    )


def _x25519_kari(cek: bytes, certificate: x509.Certificate) -> cms.RecipientInfo:
    """An RFC 8418 KeyAgreeRecipientInfo: ephemeral-static X25519 or X448 (as the
    certificate's key is), X9.63 KDF, AES wrap."""
    peer = certificate.public_key()
    ephemeral: x25519.X25519PrivateKey | x448.X448PrivateKey
    if isinstance(peer, x448.X448PublicKey):
        ephemeral, oid = x448.X448PrivateKey.generate(), ID_X448
        secret = ephemeral.exchange(peer)
    else:
        assert isinstance(peer, x25519.X25519PublicKey)
        ephemeral, oid = x25519.X25519PrivateKey.generate(), ID_X25519
        secret = ephemeral.exchange(peer)
    shared_info = encode_ecc_cms_shared_info(wrap_oid=AES256_WRAP, ukm=None, kek_length=32)
    kek = X963KDF(algorithm=hashes.SHA256(), length=32, sharedinfo=shared_info).derive(secret)
    raw = ephemeral.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    issuer = cms.IssuerAndSerialNumber(
        {
            "issuer": cms.Name.load(certificate.issuer.public_bytes()),
            "serial_number": certificate.serial_number,
        }
    )
    kari = cms.KeyAgreeRecipientInfo(
        {
            "version": "v3",
            "originator": cms.OriginatorIdentifierOrKey(
                name="originator_key",
                value=keys.PublicKeyInfo({"algorithm": {"algorithm": oid}, "public_key": raw}),
            ),
            "key_encryption_algorithm": {
                "algorithm": STD_DH_SHA256,
                "parameters": core.Any.load(
                    cms.KeyEncryptionAlgorithm({"algorithm": AES256_WRAP}).dump()
                ),
            },
            "recipient_encrypted_keys": [
                {
                    "rid": cms.KeyAgreementRecipientIdentifier(
                        name="issuer_and_serial_number", value=issuer
                    ),
                    "encrypted_key": aes_key_wrap(kek, cek),
                }
            ],
        }
    )
    return cms.RecipientInfo(name="kari", value=kari)


@pytest.fixture
def mixed(openssl: OpenSSL, pki: InteropPKI) -> Mixed:
    rsa_cert = openssl.workspace.write("alice.pem", pem(pki.alice.certificate))
    run = openssl.cms(
        "-encrypt",
        "-binary",
        "-aes256",
        "-recip",
        rsa_cert,
        "-secretkey",
        KEK.hex(),
        "-secretkeyid",
        KEK_ID,
        "-pwri_password",
        "correct horse",
        stdin=CONTENT,
    )
    message = run.stdout
    info = cms.ContentInfo.load(pkcs7_der(message))
    recipients = info["content"]["recipient_infos"]
    kekri = next(r.chosen for r in recipients if r.name == "kekri")
    cek = aes_key_unwrap(KEK, kekri["encrypted_key"].native)
    key = x25519.X25519PrivateKey.generate()
    certificate = _x25519_certificate(key, pki.at)
    ori = cms.OtherRecipientInfo({"ori_type": UNKNOWN_ORI, "ori_value": core.OctetString(b"?")})
    # The X25519 and unknown recipients first: the RSA one must be found past them.
    infos = [
        _x25519_kari(cek, certificate),
        cms.RecipientInfo(name="ori", value=ori),
        *[cms.RecipientInfo.load(r.dump()) for r in recipients],
    ]
    info["content"]["recipient_infos"] = cms.RecipientInfos(infos)
    info["content"]["version"] = "v3"  # RFC 5652 §6.1: pwri or ori present
    return Mixed(
        message=with_pkcs7_der(message, info.dump(force=True)),
        x25519_key=key,
        x25519_cert=certificate,
    )


def test_openssl_reads_the_mixed_message(openssl: OpenSSL, pki: InteropPKI, mixed: Mixed) -> None:
    assert openssl.decrypt(mixed.message, pki.alice.encryption).stdout == CONTENT


def test_the_rsa_recipient_decrypts_past_the_ones_the_engine_cannot_use(
    pki: InteropPKI, mixed: Mixed, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    result = decryption.decrypt(mixed.message, pki.alice.encryption)
    assert result.content == CONTENT and result.recipients == 5
    cert, key, message = tmp_path / "a.pem", tmp_path / "a.key", tmp_path / "m.eml"
    cert.write_bytes(pem(pki.alice.certificate))
    key.write_bytes(private_key_pem(pki.alice.encryption.private_key))
    message.write_bytes(mixed.message)
    assert main(["decrypt", "--cert", str(cert), "--key", str(key), str(message)]) == 0
    assert capsysbinary.readouterr().out == CONTENT


def test_inspect_describes_every_recipient_and_names_the_unsupported(
    mixed: Mixed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A SET OF: DER orders the recipient infos by their encoding, not as inserted.
    (layer,) = inspect(mixed.message)
    kinds = sorted((r.kind.value, r.support.value) for r in layer.recipients)
    assert kinds == [
        ("kari", "unsupported"),
        ("kekri", "unsupported"),
        ("ktri", "supported"),
        ("ori", "unsupported"),
        ("pwri", "unsupported"),
    ]
    assert {r.kind for r in layer.recipients} == set(RecipientKind)
    assert [r.support is Support.SUPPORTED for r in layer.recipients].count(True) == 1
    path = tmp_path / "m.eml"
    path.write_bytes(mixed.message)
    assert main(["inspect", str(path), "--json"]) == 0
    (view,) = json.loads(capsys.readouterr().out)["layers"]
    assert view["supported"] is True  # aes-256-cbc: the layer itself is one the engine opens
    described = {r["type"]: r for r in view["recipients"]}
    assert len(view["recipients"]) == 5
    assert {t: r["supported"] for t, r in described.items()} == {
        "kari": False,
        "ori": False,
        "ktri": True,
        "kekri": False,
        "pwri": False,
    }
    assert "X25519" in described["kari"]["unsupported"]
    assert UNKNOWN_ORI in described["ori"]["unsupported"]
    assert described["ktri"]["unsupported"] is None
    assert described["kekri"]["identifier"] == {"kek_identifier": KEK_ID}
    assert "KEKRecipientInfo" in described["kekri"]["unsupported"]
    assert "PasswordRecipientInfo" in described["pwri"]["unsupported"]
    assert main(["inspect", str(path)]) == 0
    text = capsys.readouterr().out
    assert "5 recipient(s)" in text and text.count("(unsupported: ") == 4
    for name in ("ktri rsaes-pkcs1-v1_5", "kekri", "pwri", "X25519", UNKNOWN_ORI):
        assert name in text


def test_a_pkcs12_key_decrypts_as_its_pem_form_does(
    openssl: OpenSSL, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """A PKCS#12 key of a size the engine does not issue (RSA-1024) decrypts, as the same
    key in PEM does; before, it was refused as bad input (exit 2)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Small")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .serial_number(7)
        .not_valid_before(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
        .public_key(key.public_key())
        .sign(key, hashes.SHA256())
    )
    p12 = tmp_path / "small.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"s", key, certificate, None, serialization.NoEncryption()
        )
    )
    message = tmp_path / "m.eml"
    message.write_bytes(openssl.encrypt(CONTENT, [certificate]))
    assert main(["decrypt", "--p12", str(p12), str(message)]) == 0
    assert capsysbinary.readouterr().out == CONTENT


def _unusable_keys(mixed: Mixed) -> dict[str, object]:
    return {
        "x25519": mixed.x25519_key,
        "ed25519": ed25519.Ed25519PrivateKey.generate(),
        "dsa": dsa.generate_private_key(1024),
    }


@pytest.mark.parametrize("kind", ["x25519", "ed25519", "dsa"])
def test_a_key_the_engine_cannot_use_is_not_a_recipient(
    pki: InteropPKI,
    mixed: Mixed,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    kind: str,
) -> None:
    key = _unusable_keys(mixed)[kind]
    key_file = tmp_path / "k.pem"
    key_file.write_bytes(
        key.private_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert = tmp_path / "c.pem"
    cert.write_bytes(pem(mixed.x25519_cert))
    message = tmp_path / "m.eml"
    message.write_bytes(mixed.message)
    args = ["decrypt", "--cert", str(cert), "--key", str(key_file), str(message)]
    assert main([*args, "--json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["status"] == "not-a-recipient"
    assert captured.err.count("\n") == 1 and "not a recipient" in captured.err
    # Still bad input when the input is not an encrypted message (exit 2).
    plain = tmp_path / "plain.eml"
    plain.write_bytes(CONTENT)
    assert main(["decrypt", "--cert", str(cert), "--key", str(key_file), str(plain)]) == 2
    capsys.readouterr()


def test_a_pkcs12_with_a_key_the_engine_cannot_use_is_not_a_recipient(
    mixed: Mixed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    issuer = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Edwin")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .serial_number(1)
        .not_valid_before(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
        .public_key(key.public_key())
        .sign(issuer, hashes.SHA256())
    )
    p12 = tmp_path / "e.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"e", key, certificate, None, serialization.NoEncryption()
        )
    )
    message = tmp_path / "m.eml"
    message.write_bytes(mixed.message)
    assert main(["decrypt", "--p12", str(p12), str(message)]) == 1
    err = capsys.readouterr().err
    assert "Ed25519" in err and "not a recipient" in err and err.count("\n") == 1


def test_the_engine_api_says_not_a_recipient_for_a_key_it_cannot_use(mixed: Mixed) -> None:
    from engine.pki.credential import Credential

    credential = Credential(
        certificate=mixed.x25519_cert,
        private_key=mixed.x25519_key,  # type: ignore[arg-type]
    )
    with pytest.raises(NotARecipientError) as caught:
        decryption.decrypt(mixed.message, credential)
    assert caught.value.recipients == 5 and caught.value.key_type == "X25519"


def test_an_x448_recipient_is_skipped_and_described(
    openssl: OpenSSL, pki: InteropPKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = openssl.encrypt(CONTENT, [pki.alice.certificate], cipher="aes-256-gcm")
    info = cms.ContentInfo.load(pkcs7_der(message))
    # AuthEnvelopedData: the content key is not known here, so the X448 recipient wraps
    # a key of its own; it is skipped either way, which is what is checked.
    certificate = _x25519_certificate(x448.X448PrivateKey.generate(), pki.at)
    kari = _x25519_kari(bytes(32), certificate)
    body = info["content"]
    body["recipient_infos"] = cms.RecipientInfos(
        [kari, *[cms.RecipientInfo.load(r.dump()) for r in body["recipient_infos"]]]
    )
    mixed = with_pkcs7_der(message, info.dump(force=True))
    assert openssl.decrypt(mixed, pki.alice.encryption).stdout == CONTENT
    assert decryption.decrypt(mixed, pki.alice.encryption).content == CONTENT
    path = tmp_path / "m.eml"
    path.write_bytes(mixed)
    assert main(["inspect", str(path), "--json"]) == 0
    (view,) = json.loads(capsys.readouterr().out)["layers"]
    described = {r["type"]: r for r in view["recipients"]}
    assert described["ktri"]["supported"] is True
    assert described["kari"]["supported"] is False and "X448" in described["kari"]["unsupported"]

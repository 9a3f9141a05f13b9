"""Engine bugs the properties and fuzzers found, each pinned by the input that broke it."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from engine.clock import FixedClock
from engine.errors import CertificateError, InputError
from engine.pki.authority import CertificateSpec, OrgCA
from engine.pki.credential import Credential
from engine.pki.keys import KeyPool, KeyType
from tests.property.world import EPOCH

LONG_MAILBOX = "a" * 64 + "@contoso.example"  # 81 characters: a legal mailbox


def _ca(key_pool: KeyPool, name: str = "Contoso", domain: str = "contoso.example") -> OrgCA:
    return OrgCA.create(
        name, domain, clock=FixedClock(EPOCH), keys=key_pool, key_type=KeyType.EC_P256
    )


def test_a_mailbox_longer_than_a_common_name_enrolls(key_pool: KeyPool) -> None:
    # Found by recipient_sets(): cryptography refused a 74-character commonName (ValueError).
    ca = _ca(key_pool)
    token = ca.issue_token(LONG_MAILBOX)
    enrollment = ca.enroll(LONG_MAILBOX, token.secret, key_type=KeyType.EC_P256)
    assert enrollment.signing.email == LONG_MAILBOX  # the SAN keeps the whole address
    subject = enrollment.signing.certificate.subject
    cn = subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    assert len(cn) == 64 and str(cn).endswith("...")


def test_a_long_ca_name_is_shortened_in_the_common_name(key_pool: KeyPool) -> None:
    ca = _ca(key_pool, name="N" * 70)
    assert ca.root.subject.rfc4514_string().count("N") >= 70  # O keeps the whole name


def test_an_explicit_common_name_over_64_characters_is_refused_eagerly() -> None:
    with pytest.raises(CertificateError, match="ub-common-name"):
        CertificateSpec(email="a@contoso.example", common_name="x" * 65)


@pytest.mark.parametrize("domain", ["0.xn--p1ai", "xn--80ak6aa92e.xn--p1ai", "bücher.XN--P1AI"])
def test_an_internationalized_top_level_domain_is_a_mail_domain(
    key_pool: KeyPool, domain: str
) -> None:
    # Found by organizations(): OrgCA.create refused '0.xn--p1ai' (the TLD .рф as an A-label).
    if not domain.isascii():
        with pytest.raises(InputError):  # U-labels stay refused: certificates carry A-labels
            _ca(key_pool, domain=domain)
        return
    assert _ca(key_pool, domain=domain).domain == domain


@pytest.mark.parametrize("domain", ["example.xn--", "example.xn--p1ai-", "example.1a"])
def test_malformed_top_level_labels_stay_refused(key_pool: KeyPool, domain: str) -> None:
    with pytest.raises(InputError):
        _ca(key_pool, domain=domain)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "\n\n"])
def test_a_feature_file_without_a_feature_is_a_syntax_error(tmp_path: Path, text: str) -> None:
    # Found by fuzzing feature files: an empty file raised KeyError('feature') from pytest-bdd.
    from engine.harness.runner import FeatureSyntaxError, check_syntax

    path = tmp_path / "empty.feature"
    path.write_text(text)
    with pytest.raises(FeatureSyntaxError, match="no 'Feature:' line"):
        check_syntax([path])


@pytest.mark.parametrize(
    "header",
    [
        b'Content-Type: multipart/signed; boundary="b\xff"',
        b'Content-Type: multipart/signed; boundary="--\xe9t\xe9--"',
    ],
)
def test_a_non_ascii_multipart_signed_boundary_is_a_decode_error(header: bytes) -> None:
    # Found by fuzzing signed messages: a mutated boundary parameter with byte 0xff made
    # signed_parts raise UnicodeEncodeError ('ascii' codec can't encode character '\xff').
    from engine.errors import DecodeError
    from engine.smime.multipart import signed_parts

    with pytest.raises(DecodeError, match="7-bit boundary"):
        signed_parts(header + b"\r\n\r\n--x\r\n")


def test_a_certificate_with_an_impossible_version_is_a_decode_error(key_pool: KeyPool) -> None:
    # Found by fuzzing PEM certificates: the version INTEGER mutated to 18 raised
    # cryptography's InvalidVersion (no ValueError) out of load_certificates.
    from cryptography.hazmat.primitives import serialization

    from engine.errors import DecodeError
    from engine.pki.credential import load_certificates

    der = bytearray(_ca(key_pool).root.public_bytes(serialization.Encoding.DER))
    at = der.index(b"\xa0\x03\x02\x01\x02")  # [0] EXPLICIT Version v3
    der[at + 4] = 18
    with pytest.raises(DecodeError):
        load_certificates(bytes(der))


def _with_bad_curve(certificate_der: bytes) -> bytes:
    # id-ecPublicKey with a prime256v1 OID changed by one arc: 1.3.840.10045.3.1.7.
    good = bytes.fromhex("06082a8648ce3d030107")
    assert good in certificate_der
    return certificate_der.replace(good, bytes.fromhex("06082b8648ce3d030107"), 1)


def _ec_signer(ca: OrgCA, key_pool: KeyPool) -> Credential:
    spec = CertificateSpec(
        email="a@contoso.example", key_type=KeyType.EC_P256, key=key_pool.key(KeyType.EC_P256, 0)
    )
    return ca.issue(spec)


def _opaque_carrying(signer: Credential, carried: bytes, instead: bytes) -> bytes:
    """An opaque signed message from ``signer`` whose SignedData carries ``instead`` where
    it carried the certificate ``carried`` (DER); the signature itself is left as it was."""
    import base64

    from engine.smime.signing import sign

    message = sign(b"Subject: x\r\n\r\nhello\r\n", signer, clock=FixedClock(EPOCH), opaque=True)
    head, _, body = message.partition(b"\r\n\r\n")
    der = base64.b64decode(body)
    assert carried in der
    wrapped = base64.encodebytes(der.replace(carried, instead, 1)).replace(b"\n", b"\r\n")
    return head + b"\r\n\r\n" + wrapped


def test_a_signer_key_cryptography_cannot_load_is_not_intact_and_inspect_describes_it(
    key_pool: KeyPool,
) -> None:
    # Found by fuzzing signed messages: a mutated curve OID in the signer's certificate made
    # verify raise ValueError('Invalid key') / UnsupportedAlgorithm and inspect crash.
    from cryptography.hazmat.primitives import serialization

    from engine.smime.inspection import inspect
    from engine.smime.verification import verify

    ca = _ca(key_pool)
    signer = _ec_signer(ca, key_pool)
    cert = signer.certificate.public_bytes(serialization.Encoding.DER)
    broken = _opaque_carrying(signer, cert, _with_bad_curve(cert))
    result = verify(broken, anchors=[ca.root], at=EPOCH)
    assert not result.intact
    layers = inspect(broken)
    assert "unreadable key" in str(layers[0].view())


def test_a_carried_certificate_with_a_malformed_issuer_is_a_decode_error(
    key_pool: KeyPool,
) -> None:
    # Found by fuzzing signed messages: cryptography parses names lazily, so a certificate
    # with a broken issuer Name loaded fine and then raised ValueError ('error parsing asn1
    # value ... location: ["issuer"]') out of path building (verify) and inspect's view.
    from cryptography.hazmat.primitives import serialization

    from engine.errors import DecodeError
    from engine.pki.credential import load_certificates
    from engine.smime.inspection import inspect
    from engine.smime.verification import verify

    ca = _ca(key_pool)
    signer = _ec_signer(ca, key_pool)
    root = ca.root.public_bytes(serialization.Encoding.DER)
    issuer = ca.root.issuer.public_bytes()
    # Break the PrintableString/UTF8String tag inside the root's issuer Name only.
    at = root.index(issuer) + issuer.index(b"\x0c")
    broken_root = root[:at] + b"\x01" + root[at + 1 :]
    with pytest.raises(DecodeError):
        load_certificates(broken_root)
    broken = _opaque_carrying(signer, root, broken_root)
    with pytest.raises(DecodeError):
        verify(broken, anchors=[ca.root], at=EPOCH)
    with pytest.raises(DecodeError):
        inspect(broken)

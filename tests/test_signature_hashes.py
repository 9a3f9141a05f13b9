"""The hash inside the signature algorithm must be digestAlgorithm's (RFC 5652 §5.4-§5.6).

An attacker who can make a SHA-1 collision signs the signed attributes with
sha1WithRSAEncryption and labels the SignerInfo's digestAlgorithm sha256, so that
anyone judging digestAlgorithm alone sees SHA-256. The SignerInfos here are built
piece by piece (asn1crypto, through the engine's ``engine.cms`` builders) with keys
from the project's own authority, and signed with ``cryptography`` directly: what
``sign()`` would never make.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from asn1crypto import algos
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from engine.cli.commands import main
from engine.clock import FixedClock
from engine.cms.algorithms import MGF1, RSA_ENCRYPTION, RSASSA_PSS, DigestAlgorithm, SignatureScheme
from engine.cms.attributes import signed_attributes_der
from engine.cms.content_types import OID_DATA
from engine.cms.parameters import AlgorithmIdentifier, null_der
from engine.cms.signed import signed_data_der
from engine.harness.world import World
from engine.pki.authority import OrgCA
from engine.pki.credential import Credential, certificate_emails
from engine.pki.keys import KeyPool, KeyType
from engine.policy.compliance import check_message
from engine.policy.document import builtin_policy
from engine.smime.multipart import multipart_signed_message
from engine.smime.signing import issuer_serial, sign
from engine.smime.verification import verify
from tests.conftest import EPOCH, enroll

DER = serialization.Encoding.DER
CONTENT = b"Content-Type: text/plain\r\n\r\nPay invoice 42 to account 1234.\r\n"

SHA1, SHA256, SHA384 = DigestAlgorithm.SHA1, DigestAlgorithm.SHA256, DigestAlgorithm.SHA384
RSA_OIDS = {
    SHA1: "1.2.840.113549.1.1.5",
    SHA256: "1.2.840.113549.1.1.11",
    SHA384: "1.2.840.113549.1.1.12",
}
ECDSA_OIDS = {
    SHA1: "1.2.840.10045.4.1",
    SHA256: "1.2.840.10045.4.3.2",
    SHA384: "1.2.840.10045.4.3.3",
}


class Pki:
    def __init__(self, pool: KeyPool) -> None:
        self.clock = FixedClock(EPOCH)
        self.ca = OrgCA.create("Contoso", "contoso.example", clock=self.clock, keys=pool)
        self.rsa = enroll(self.ca, "alice@contoso.example").signing
        self.ec = self.ca.enroll(
            "carol@contoso.example",
            self.ca.issue_token("carol@contoso.example").secret,
            key_type=KeyType.EC_P256,
        ).signing


@pytest.fixture(scope="module")
def pki(key_pool: KeyPool) -> Pki:
    return Pki(key_pool)


def forge(
    signer: Credential,
    *,
    digest: DigestAlgorithm,
    algorithm: AlgorithmIdentifier,
    sign_with: DigestAlgorithm,
    pss_mgf: DigestAlgorithm | None = None,
) -> bytes:
    """A multipart/signed message whose SignerInfo says ``digest`` in digestAlgorithm and
    ``algorithm`` as signatureAlgorithm, the signature made with ``sign_with``
    (and MGF1 over ``pss_mgf`` when given: RSASSA-PSS)."""
    hasher = hashes.Hash(digest.hash())
    hasher.update(CONTENT)
    attributes = signed_attributes_der(
        content_type=OID_DATA, message_digest=hasher.finalize(), signing_time=EPOCH
    )
    key = signer.private_key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(attributes, ec.ECDSA(sign_with.hash()))
    else:
        assert isinstance(key, rsa.RSAPrivateKey)
        pad: padding.AsymmetricPadding = (
            padding.PKCS1v15()
            if pss_mgf is None
            else padding.PSS(mgf=padding.MGF1(pss_mgf.hash()), salt_length=32)
        )
        signature = key.sign(attributes, pad, sign_with.hash())
    der = signed_data_der(
        content=None,
        digest_oid=digest.oid,
        signature_algorithm=algorithm,
        signer=issuer_serial(signer.certificate),
        signed_attributes=attributes,
        signature=signature,
        certificates=[signer.certificate.public_bytes(DER)],
    )
    sender = certificate_emails(signer.certificate)[0]
    headers = [("From", sender), ("To", "bob@fabrikam.example"), ("MIME-Version", "1.0")]
    return multipart_signed_message(headers, CONTENT, der, digest.micalg)


def rsa_pkcs1(hash_named: DigestAlgorithm) -> AlgorithmIdentifier:
    return AlgorithmIdentifier(oid=RSA_OIDS[hash_named], parameters=null_der())


def pss(hash_named: DigestAlgorithm, mgf: DigestAlgorithm) -> AlgorithmIdentifier:
    """RSASSA-PSS-params (RFC 4055 §3.1) with the hash and the MGF1 hash apart, built with
    asn1crypto as an attacker's tool would (the engine's builder keeps them equal)."""
    parameters = algos.RSASSAPSSParams(
        {
            "hash_algorithm": {"algorithm": hash_named.oid},
            "mask_gen_algorithm": {
                "algorithm": MGF1,
                "parameters": {"algorithm": mgf.oid},
            },
            "salt_length": 32,
        }
    )
    return AlgorithmIdentifier(oid=RSASSA_PSS, parameters=parameters.dump())


def sha1_under_sha256(pki: Pki) -> bytes:
    """The reported attack: sha1WithRSAEncryption beside digestAlgorithm sha256."""
    return forge(pki.rsa, digest=SHA256, algorithm=rsa_pkcs1(SHA1), sign_with=SHA1)


MISMATCHES = {
    "sha1WithRSA over sha256": lambda p: sha1_under_sha256(p),
    "sha256WithRSA over sha1": lambda p: forge(
        p.rsa, digest=SHA1, algorithm=rsa_pkcs1(SHA256), sign_with=SHA256
    ),
    "ecdsa-with-SHA1 over sha256": lambda p: forge(
        p.ec,
        digest=SHA256,
        algorithm=AlgorithmIdentifier(oid=ECDSA_OIDS[SHA1]),
        sign_with=SHA1,
    ),
    "ecdsa-with-SHA384 over sha256": lambda p: forge(
        p.ec,
        digest=SHA256,
        algorithm=AlgorithmIdentifier(oid=ECDSA_OIDS[SHA384]),
        sign_with=SHA384,
    ),
    "PSS sha1 over sha256": lambda p: forge(
        p.rsa, digest=SHA256, algorithm=pss(SHA1, SHA1), sign_with=SHA1, pss_mgf=SHA1
    ),
    "PSS sha256 with MGF1-SHA1": lambda p: forge(
        p.rsa, digest=SHA256, algorithm=pss(SHA256, SHA1), sign_with=SHA256, pss_mgf=SHA1
    ),
}


@pytest.mark.parametrize("case", list(MISMATCHES))
def test_a_signature_hashing_with_another_function_is_not_intact(pki: Pki, case: str) -> None:
    message = MISMATCHES[case](pki)
    result = verify(message, anchors=[pki.ca.root], at=EPOCH)
    assert not result.intact
    assert result.status == "algorithm-mismatch"
    assert any("digestAlgorithm" in reason for reason in result.reasons), result.reasons
    # Trust and the address are still judged apart: only the signature is at fault.
    assert result.trusted


AGREEMENTS = {
    "rsaEncryption takes digestAlgorithm's sha384": lambda p: forge(
        p.rsa,
        digest=SHA384,
        algorithm=AlgorithmIdentifier(oid=RSA_ENCRYPTION, parameters=null_der()),
        sign_with=SHA384,
    ),
    "sha256WithRSA over sha256": lambda p: forge(
        p.rsa, digest=SHA256, algorithm=rsa_pkcs1(SHA256), sign_with=SHA256
    ),
    "ecdsa-with-SHA384 over sha384": lambda p: forge(
        p.ec,
        digest=SHA384,
        algorithm=AlgorithmIdentifier(oid=ECDSA_OIDS[SHA384]),
        sign_with=SHA384,
    ),
    "PSS sha256 with MGF1-SHA256": lambda p: forge(
        p.rsa, digest=SHA256, algorithm=pss(SHA256, SHA256), sign_with=SHA256, pss_mgf=SHA256
    ),
}


@pytest.mark.parametrize("case", list(AGREEMENTS))
def test_a_signature_algorithm_agreeing_with_the_digest_is_valid(pki: Pki, case: str) -> None:
    result = verify(AGREEMENTS[case](pki), anchors=[pki.ca.root], at=EPOCH)
    assert result.status == "valid", result.reasons


def test_strict_policy_judges_the_hash_inside_the_signature_algorithm(pki: Pki) -> None:
    findings = check_message(
        sha1_under_sha256(pki), builtin_policy("strict"), anchors=[pki.ca.root], at=EPOCH
    )
    found = {(f.rule_id, f.severity.value) for f in findings}
    assert ("smime.sig.hash.sha1", "error") in found
    assert ("smime.msg.signature.intact", "error") in found
    intact = next(f for f in findings if f.rule_id == "smime.msg.signature.intact")
    assert intact.message.startswith("algorithm-mismatch: ")


def test_strict_policy_judges_the_mgf1_hash(pki: Pki) -> None:
    message = MISMATCHES["PSS sha256 with MGF1-SHA1"](pki)
    findings = check_message(message, builtin_policy("strict"), anchors=[pki.ca.root], at=EPOCH)
    assert ("smime.sig.hash.sha1", "error") in {(f.rule_id, f.severity.value) for f in findings}
    # The rfc8551 policy warns on SHA-1 wherever it is used.
    warned = check_message(message, builtin_policy("rfc8551"), anchors=[pki.ca.root], at=EPOCH)
    assert ("smime.sig.hash.sha1", "warning") in {(f.rule_id, f.severity.value) for f in warned}


def test_verify_command_reports_algorithm_mismatch(
    pki: Pki, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "forged.eml"
    path.write_bytes(sha1_under_sha256(pki))
    root = tmp_path / "root.pem"
    root.write_bytes(pki.ca.root.public_bytes(serialization.Encoding.PEM))
    at = EPOCH.isoformat()
    code = main(["verify", "--trust", str(root), "--at", at, "--json", str(path)])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["status"] == "algorithm-mismatch" and report["intact"] is False
    assert report["digest"] == "sha256" and report["hashes"] == ["sha256", "sha1"]
    code = main(["verify", "--trust", str(root), "--at", at, str(path)])
    assert code == 1
    assert capsys.readouterr().out.startswith(f"{path}: algorithm-mismatch (")


def test_the_mail_client_shows_the_mismatch(key_pool: KeyPool) -> None:
    world = World(keys=key_pool.view(), artifact_dir=None)
    world.add_organization("Contoso")
    world.add_organization("Fabrikam")
    sender = world.add_user("UserB", "Fabrikam")
    reader = world.add_user("UserA", "Contoso")
    reader.client.trust(world.organization("Fabrikam").ca.root)
    credential = sender.client.signing_credential
    assert credential is not None
    message = forge(
        credential,
        digest=SHA256,
        algorithm=rsa_pkcs1(SHA1),
        sign_with=SHA1,
    )
    received = reader.client.open(message)
    assert received.status.value == "algorithm-mismatch"
    # Nothing is taken from a signature that is not intact.
    assert reader.client.add_to_contacts(received).status.value == "refused"


def test_the_engines_own_signatures_name_one_hash_and_stay_valid(pki: Pki) -> None:
    # rsaEncryption, ecdsa-with-<digest> and RSASSA-PSS with MGF1 over the digest.
    cases = [(pki.rsa, None), (pki.rsa, SignatureScheme.RSA_PSS), (pki.ec, None)]
    for credential, scheme in cases:
        for digest in (SHA256, SHA384):
            message = sign(
                b"From: x@contoso.example\r\n\r\nhi\r\n",
                credential,
                clock=pki.clock,
                digest=digest,
                scheme=scheme,
            )
            result = verify(message, anchors=[pki.ca.root], at=EPOCH)
            assert result.intact and result.hashes == (digest,)

"""The algorithm registry (engine/cms/algorithms.py) is the one place an algorithm is defined.

Everything that lists ciphers (the CLI, announced capabilities, negotiation, policy
validation, the step library, the Hypothesis strategies, the CMS parameter codecs)
is derived from it, and each OID literal appears once in ``engine/``.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import find, settings

from engine.cli import commands as cli
from engine.cms import enveloped as asn1
from engine.cms.algorithms import (
    KEY_TRANSPORTS,
    RSA_KEY_TRANSPORTS,
    SIGNING_DIGESTS,
    STRENGTH_ORDER,
    CipherMode,
    ContentCipher,
    DigestAlgorithm,
    RecipientIdentifier,
    cipher_mode,
)
from engine.harness.steps import policy as policy_steps
from engine.mail import negotiation
from engine.policy.document import Policy, policy_from_text
from engine.smime import signing
from engine.strategies import policies

ENGINE = Path(__file__).resolve().parent.parent / "engine"
# A dotted OID: first arc 0-2, at least four arcs (so that "0.1.0" versions are not OIDs).
_OID = re.compile(r"[0-2](\.(0|[1-9][0-9]*)){3,}")


def oid_literals(root: Path) -> dict[str, list[str]]:
    """Every dotted-OID string literal under ``root``: literal → the places it is written."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and _OID.fullmatch(node.value)
            ):
                found[node.value].append(f"{path.relative_to(root.parent)}:{node.lineno}")
    return found


def repeated_oids(root: Path) -> dict[str, list[str]]:
    return {oid: places for oid, places in oid_literals(root).items() if len(places) > 1}


def test_each_oid_literal_appears_once_in_engine() -> None:
    repeated = repeated_oids(ENGINE)
    assert not repeated, "OID literals written more than once (use the registry's name):\n" + (
        "\n".join(f"{oid}: {', '.join(places)}" for oid, places in sorted(repeated.items()))
    )


def test_the_oid_scan_sees_literals_and_repeats(tmp_path: Path) -> None:
    # The scan itself must be able to fail: a repeated literal in two modules is found,
    # a version string and an OID in a comment are not literals.
    package = tmp_path / "engine"
    package.mkdir()
    (package / "a.py").write_text('X = "1.2.840.113549.1.1.7"\n__version__ = "0.1.0"\n')
    (package / "b.py").write_text('# "2.5.29.17"\nY = {"1.2.840.113549.1.1.7": 1}\n')
    assert repeated_oids(package) == {"1.2.840.113549.1.1.7": ["engine/a.py:1", "engine/b.py:2"]}


# -- what is derived from the registry -----------------------------------------------------


def test_strength_order_is_every_encrypting_cipher_aead_first_then_key_length() -> None:
    assert set(STRENGTH_ORDER) == {c for c in ContentCipher if not c.legacy}
    ranks = [(c.authenticated, c.key_size) for c in STRENGTH_ORDER]
    assert ranks == sorted(ranks, reverse=True)
    assert STRENGTH_ORDER[0] is ContentCipher.AES_256_GCM


def test_cli_choices_capabilities_and_negotiation_come_from_the_registry() -> None:
    parser = cli.build_parser()
    encrypt = parser._subparsers._group_actions[0].choices["encrypt"]  # type: ignore[union-attr]
    (cipher_action,) = [a for a in encrypt._actions if a.dest == "cipher"]
    assert tuple(cipher_action.choices) == tuple(c.value for c in STRENGTH_ORDER)
    assert signing.DEFAULT_CAPABILITIES == STRENGTH_ORDER
    assert negotiation.STRENGTH_ORDER == STRENGTH_ORDER
    assert tuple(c.value for c in STRENGTH_ORDER) == policy_steps._ENCRYPTING


def test_cli_digest_transport_and_identifier_choices_come_from_the_registry() -> None:
    parser = cli.build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]

    def choices(command: str, dest: str) -> tuple[str, ...]:
        (action,) = [a for a in commands[command]._actions if a.dest == dest]
        return tuple(action.choices)

    assert choices("sign", "digest") == tuple(d.value for d in SIGNING_DIGESTS)
    assert DigestAlgorithm.SHA1 not in SIGNING_DIGESTS  # read, never offered (RFC 8551 §2.1)
    assert choices("encrypt", "key_transport") == tuple(t.value for t in RSA_KEY_TRANSPORTS)
    assert set(RSA_KEY_TRANSPORTS) == set(KEY_TRANSPORTS.values())
    assert choices("encrypt", "recipient_id") == tuple(r.value for r in RecipientIdentifier)


@pytest.mark.parametrize("cipher", list(ContentCipher), ids=lambda c: c.value)
def test_the_cms_codec_takes_each_ciphers_parameters_from_the_registry(
    cipher: ContentCipher,
) -> None:
    assert ContentCipher.from_oid(cipher.oid) is cipher
    mode = cipher_mode(cipher.oid)
    assert mode is (CipherMode.GCM if cipher.authenticated else CipherMode.CBC)
    iv = bytes(12 if cipher.authenticated else cipher.spec.block_size)
    message = asn1.EnvelopedMessage(
        authenticated=cipher.authenticated,
        recipients=(),
        content_type=asn1.DATA,
        algorithm_oid=cipher.oid,
        iv=iv,
        icv_length=16 if cipher.authenticated else None,
        encrypted_content=b"\x00" * 32,
        mac=b"\x00" * 16 if cipher.authenticated else None,
    )
    decoded = asn1.decode_enveloped(asn1.encode_enveloped(message))
    assert (decoded.algorithm_oid, decoded.iv) == (cipher.oid, iv)
    assert cipher.spec.algorithm(bytes(cipher.key_size)).key_size == cipher.key_size * 8


@pytest.mark.parametrize("cipher", list(ContentCipher), ids=lambda c: c.value)
def test_a_policy_may_name_any_registry_cipher(cipher: ContentCipher) -> None:
    preferred = cipher if not cipher.legacy else ContentCipher.AES_128_CBC
    names = sorted({cipher.value, preferred.value})
    text = (
        Path(ENGINE / "policy" / "builtin" / "rfc8551.toml")
        .read_text()
        .replace(
            'content_encryption = ["aes-256-gcm", "aes-128-gcm", "aes-256-cbc", "aes-128-cbc"]',
            f"content_encryption = {names!r}".replace("'", '"'),
        )
        .replace(
            'preferred_content_encryption = "aes-256-gcm"',
            f'preferred_content_encryption = "{preferred.value}"',
        )
    )
    policy = policy_from_text(text, file="test")
    assert cipher in policy.algorithms.content_encryption


@pytest.mark.parametrize("cipher", list(ContentCipher), ids=lambda c: c.value)
def test_the_policy_strategy_draws_every_registry_cipher(cipher: ContentCipher) -> None:
    def allows(policy: Policy) -> bool:
        return cipher in policy.algorithms.content_encryption

    found = find(policies(builtins=False), allows, settings=settings(max_examples=500))
    assert allows(found)

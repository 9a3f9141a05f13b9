"""Messages that cross between organizations in a scenario are real S/MIME: openssl reads them.

A handful of representative built-in scenarios run through the shipped step
library; afterwards every message that left one organization for another must
be on disk as an ``.eml`` artifact, verify with ``openssl cms -verify`` against
the organizations' roots, and decrypt with ``openssl cms -decrypt`` using each
enrolled recipient's key. Keys and roots go to ``tmp_path`` only, never into
the artifacts.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from pytest_bdd import scenario

from engine.harness.world import Artifact, World
from engine.pki.keys import private_key_pem

FEATURES = Path(__file__).resolve().parent.parent / "features"

pytestmark = [
    pytest.mark.interop,
    pytest.mark.requires_tool("openssl"),
]


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[1].lower()


def _crossing(artifact: Artifact) -> bool:
    return any(_domain(r) != _domain(artifact.sender) for r in artifact.recipients)


def _openssl(*args: str | Path, stdin: bytes | None = None) -> bytes:
    run = subprocess.run(
        ["openssl", "cms", *map(str, args)], input=stdin, capture_output=True, check=False
    )
    if run.returncode != 0:
        command = " ".join(map(str, args))
        raise AssertionError(f"openssl cms {command}: {run.stderr.decode(errors='replace')}")
    return run.stdout


def _verify(data: bytes, roots: Path, at: int) -> bytes:
    return _openssl("-verify", "-CAfile", roots, "-attime", str(at), stdin=data)


def _is_signed(data: bytes) -> bool:
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].lower()
    return b"multipart/signed" in head or b"signed-data" in head


def check_artifacts(world: World, folder: Path) -> int:
    """Check every crossing message; returns how many openssl checks ran."""
    roots = folder / "roots.pem"
    roots.write_bytes(
        b"".join(
            org.ca.root.public_bytes(serialization.Encoding.PEM)
            for org in world.organizations.values()
        )
    )
    at = int(world.clock.now().timestamp())
    checks = 0
    crossing = [a for a in world.artifacts if _crossing(a)]
    assert crossing, "the scenario sent nothing across organizations"
    for artifact in crossing:
        assert world.artifact_dir is not None
        saved = world.artifact_dir / artifact.name
        assert saved.read_bytes() == artifact.data, f"{artifact.name} not saved as sent"
        if artifact.encrypted:
            for address in artifact.recipients:
                user = next(u for u in world.users.values() if u.address == address)
                if (
                    _domain(address) == _domain(artifact.sender)
                    or not user.client.encryption_credentials
                ):
                    continue
                credential = user.client.encryption_credentials[0]
                cert, key = folder / f"{user.name}.pem", folder / f"{user.name}.key"
                cert.write_bytes(credential.certificate.public_bytes(serialization.Encoding.PEM))
                key.write_bytes(private_key_pem(credential.private_key))
                inner = _openssl("-decrypt", "-recip", cert, "-inkey", key, stdin=artifact.data)
                checks += 1
                assert b"This is a test message" in inner or _is_signed(inner), artifact.name
                if artifact.signed:
                    assert b"This is a test message" in _verify(inner, roots, at)
                    checks += 1
        elif artifact.signed:
            assert b"This is a test message" in _verify(artifact.data, roots, at)
            checks += 1
    assert checks, "no crossing message was signed or encrypted"
    return checks


@scenario(
    str(FEATURES / "cross_organization.feature"),
    "UserA sends encrypted mail to UserB in another organization",
)
def test_article_walkthrough_messages(world: World, tmp_path: Path) -> None:
    # UserB's signed message to UserA, then UserA's signed-and-encrypted reply.
    assert check_artifacts(world, tmp_path) >= 3
    # Files named in steps are relative to the feature's folder, even under plain pytest.
    assert world.base_dir == FEATURES


@scenario(
    str(FEATURES / "contacts.feature"),
    "A new contact holds the sender's encryption certificate",
)
def test_separate_encryption_certificate_message(world: World, tmp_path: Path) -> None:
    assert check_artifacts(world, tmp_path) >= 1


@scenario(
    str(FEATURES / "renewal.feature"),
    "After renewal and an accepted update, mail is encrypted to the new certificate",
)
def test_renewed_certificate_messages(world: World, tmp_path: Path) -> None:
    assert check_artifacts(world, tmp_path) >= 3


@scenario(
    str(FEATURES / "signed_mail.feature"),
    "A signed message crosses organizations and carries the way back",
)
def test_signed_message_across(world: World, tmp_path: Path) -> None:
    assert check_artifacts(world, tmp_path) == 1

"""Fixtures for the interop suite: the PKI, an ``openssl`` runner and a ``gpgsm`` home.

Everything slow is session-scoped: the organizations and mailboxes (keys from
the shared key pool) and one gpgsm home with every trusted root and every RSA
mailbox imported. Files live only under pytest's temporary folders.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from smime_peers import Gpgsm, OpenSSL, Workspace, find_binary
from smime_pki import InteropPKI, build_pki

from engine.pki.keys import KeyPool
from tests.conftest import require_tool

# The instant the suite's CAs and signatures are made at (tests/conftest.py's EPOCH);
# peers and the engine judge validity one hour later, never at the wall clock.
EPOCH = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def pki(key_pool: KeyPool) -> InteropPKI:
    return build_pki(key_pool, EPOCH)


@pytest.fixture(scope="session")
def openssl_binary() -> str:
    require_tool("openssl", purpose="the interop peer")
    binary = find_binary("openssl")
    assert binary is not None
    return binary


@pytest.fixture(scope="session")
def gpgsm_binary() -> str:
    require_tool("gpgsm", purpose="the interop peer")
    require_tool("gpg-agent", purpose="gpgsm needs it for secret keys")
    binary = find_binary("gpgsm")
    assert binary is not None
    return binary


@pytest.fixture
def openssl(openssl_binary: str, pki: InteropPKI, tmp_path: Path) -> OpenSSL:
    return OpenSSL(openssl_binary, Workspace(tmp_path / "openssl"), at=pki.at)


@pytest.fixture(scope="session")
def gpgsm(
    gpgsm_binary: str, pki: InteropPKI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gpgsm]:
    """One gpgsm home for the session: trusted roots, RSA mailboxes with their secret keys.

    gpgsm 2.2 cannot import EC keys from PKCS#12 (it crashes), so the EC mailboxes are
    imported as certificates only: enough to verify their signatures.
    """
    base = tmp_path_factory.mktemp("gpgsm")
    peer = Gpgsm(gpgsm_binary, base / "home", Workspace(base / "work"), at=pki.at)
    try:
        for root in pki.anchors:
            peer.trust(root)
        peer.import_certificates([*pki.alpha.chain])
        for mailbox in (pki.alice, pki.bob, pki.dave):
            for credential in {id(c): c for c in (mailbox.signing, mailbox.encryption)}.values():
                peer.import_credential(credential)
        for mailbox in (pki.carol, pki.erin):
            peer.import_certificates([mailbox.signing.certificate, *mailbox.signing.chain])
        yield peer
    finally:
        peer.close()

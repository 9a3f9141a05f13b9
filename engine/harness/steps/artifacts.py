"""Steps that bring a partner's real credentials and certificate authorities into a scenario.

A PKCS#12 file (RFC 7292) with its password in a file of its own becomes a person's
signing and decryption credential; a CA certificate file (PEM or DER) becomes an
explicit trust decision. Files are read from the feature's folder tree only.
"""

from __future__ import annotations

from engine.errors import InputError
from engine.harness.steps.library import setup_or_action
from engine.harness.world import World
from engine.pki.credential import load_certificates, load_pkcs12
from engine.pki.enrollment import Enrollment


@setup_or_action(
    '{user:w} imports the credentials in "{credentials}" with the password in "{password}"'
)
def imports_credentials(world: World, user: str, credentials: str, password: str) -> None:
    """Install a PKCS#12 file: its certificate signs and decrypts for the user from now on."""
    path, data = world.read_file(credentials, "a PKCS#12 file")
    password_path, secret = world.read_file(password, "a password file")
    lines = secret.splitlines()
    if not lines or not lines[0]:
        raise InputError("a password on the first line", "an empty file", source=str(password_path))
    credential = load_pkcs12(data, lines[0], source=str(path))
    address = world.user(user).address
    world.install(user, Enrollment(email=address, signing=credential, encryption=credential))


@setup_or_action('{user:w} trusts the certificate authority in "{root}"')
def trusts_file(world: World, user: str, root: str) -> None:
    """An explicit trust decision for a partner's real CA certificate (PEM or DER)."""
    path, data = world.read_file(root, "a CA certificate")
    client = world.user(user).client
    for certificate in load_certificates(data, source=str(path)):
        client.trust(certificate)

"""Where a scenario takes place: its clock, network, organizations, people and settings.

A scene holds what a Background sets up: organizations, each with its own key
management (:mod:`engine.mail.organization`), the people enrolled there and their
certificates now and before a renewal, each person's mail client with the roots it
trusts, its profile and its policy, and the folder tree a scenario's files come
from. :class:`~engine.harness.world.World` adds what happens in the scene: sends,
messages opened, prompts and findings.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509

from engine.clock import FixedClock
from engine.cms.algorithms import ContentCipher, DigestAlgorithm
from engine.errors import InputError
from engine.mail.client import MailClient
from engine.mail.contacts import Contact
from engine.mail.organization import Organization
from engine.mail.profile import DEFAULT_PROFILE, ClientProfile
from engine.mail.transport import MailNetwork
from engine.pki.enrollment import Enrollment
from engine.pki.issuance import CertificateMemo
from engine.pki.keys import KeySource, KeyType
from engine.policy.document import Policy, default_policy

# Scenarios run at a fixed instant, so certificates, signatures and reports are reproducible.
SCENARIO_EPOCH = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)

# Which of a user's certificates a step means: the ones held now, or those before a renewal.
GENERATIONS = ("current", "previous")


@dataclasses.dataclass(slots=True)
class User:
    """A person of the scenario: the name steps use, their address, organization and client."""

    name: str
    address: str
    organization: Organization
    client: MailClient


class OutsideFolderError(InputError):
    """A step names a file outside the feature's folder tree and the allowed folders."""


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


class Scene:
    """The organizations, people and settings a scenario has set up so far."""

    def __init__(self, *, keys: KeySource, memo: CertificateMemo | None = None) -> None:
        self.keys = keys
        # Caches belong to whoever owns the batch of scenarios (the pytest session hands
        # each world the run's); a scene made alone owns its own. Scenarios of one run
        # repeat the same pool-key certificates.
        self._memo = memo if memo is not None else CertificateMemo()
        self.clock = FixedClock(SCENARIO_EPOCH)
        self.network = MailNetwork()
        self.organizations: dict[str, Organization] = {}
        self.users: dict[str, User] = {}
        self.default_profile: ClientProfile = DEFAULT_PROFILE
        self.enrollments: dict[str, Enrollment] = {}
        self.previous_enrollments: dict[str, Enrollment] = {}
        self._tokens: dict[str, str] = {}  # enrollment tokens issued, by user
        self.base_dir: Path = Path.cwd()  # files named in steps are relative to it, and in it
        self.allowed_dirs: tuple[Path, ...] = ()  # other folders steps may name files in
        self.step_source: str | None = None  # "feature:line" of the step running, for errors
        self.policy: Policy | None = None  # chosen for every organization by a step
        self.org_policies: dict[str, Policy] = {}  # chosen for one organization

    # -- organizations and users ------------------------------------------

    def organization(self, name: str) -> Organization:
        try:
            return self.organizations[name.lower()]
        except KeyError:
            known = ", ".join(o.name for o in self.organizations.values()) or "none yet"
            raise InputError(f"an organization set up earlier ({known})", repr(name)) from None

    def add_organization(
        self, name: str, *, intermediate: bool = False, domain: str | None = None
    ) -> Organization:
        """An organization; its mail domain is ``<name>.example`` unless ``domain`` is given."""
        if name.lower() in self.organizations:
            org = self.organizations[name.lower()]
            if domain is not None and domain.lower() != org.domain:
                raise InputError(f"{org.name}'s domain {org.domain}", repr(domain))
            return org
        org = Organization(
            name,
            domain or f"{slug(name)}.example",
            clock=self.clock,
            network=self.network,
            keys=self.keys,
            intermediate=intermediate,
            policy=self.policy or default_policy(),
            memo=self._memo,
        )
        self.organizations[name.lower()] = org
        org.publish_crl()
        return org

    def user(self, name: str) -> User:
        try:
            return self.users[name.lower()]
        except KeyError:
            known = ", ".join(u.name for u in self.users.values()) or "none yet"
            raise InputError(f"a user set up earlier ({known})", repr(name)) from None

    def add_user(
        self,
        name: str,
        org_name: str,
        *,
        enrolled: bool = True,
        separate: bool = False,
        key_type: KeyType = KeyType.RSA_2048,
    ) -> User:
        org = self.organization(org_name)
        address = org.address(name)
        if enrolled:
            self.enrollments[name.lower()] = org.enroll(
                address, key_type=key_type, separate_encryption_key=separate
            )
        else:
            org.add_mailbox(address)
        client = MailClient(
            address=address, organization=org, clock=self.clock, profile=self.default_profile
        )
        chosen = self.chosen_policy(org)
        if chosen is not None:
            chosen.configure(client)
        user = User(name=name, address=address, organization=org, client=client)
        self.users[name.lower()] = user
        return user

    # -- what a user or an organization decides --------------------------

    def issue_token(self, org_name: str, name: str) -> None:
        """The organization opens a mailbox for ``name`` and issues an enrollment token,
        kept for the user's own enrollment later in the scenario."""
        org = self.organization(org_name)
        address = org.add_mailbox(name)
        self._tokens[name.lower()] = org.ca.issue_token(address).secret

    def enroll_with_token(self, name: str, org_name: str) -> Enrollment:
        """The user enrolls with the token issued to them (EnrollmentError if it was used)."""
        org = self.organization(org_name)
        try:
            token = self._tokens[name.lower()]
        except KeyError:
            raise InputError(f"an enrollment token issued to {name} earlier", "none") from None
        return org.ca.enroll(org.address(name), token)

    def trust(self, name: str, org_name: str) -> None:
        """The user trusts the organization's root CA (IMP-03)."""
        self.user(name).client.trust(self.organization(org_name).ca.root)

    def distrust(self, name: str, org_name: str) -> None:
        """The user withdraws trust in the organization's root CA."""
        self.user(name).client.distrust(self.organization(org_name).ca.root)

    def use_profile(self, profile: ClientProfile, name: str | None = None) -> None:
        """One user's client (or every client, those set up later too) behaves as ``profile``."""
        if name is not None:
            self.user(name).client.use_profile(profile)
            return
        self.default_profile = profile
        for user in self.users.values():
            user.client.use_profile(profile)

    def set_processing_delay(self, delay: dt.timedelta) -> None:
        """Every client (those set up later too) processes new contacts after ``delay``."""
        self.default_profile = self.default_profile.with_delay(delay)
        for user in self.users.values():
            user.client.use_profile(user.client.profile.with_delay(delay))

    def set_cipher(self, name: str, cipher: ContentCipher) -> None:
        """The one content cipher the user's client encrypts with."""
        self.user(name).client.encrypt_with(cipher)

    def set_digest(self, name: str, digest: DigestAlgorithm) -> None:
        """The digest the user's client signs with."""
        self.user(name).client.sign_with(digest)

    def add_contact(
        self,
        name: str,
        other: str,
        certificate: x509.Certificate,
        issuers: Iterable[x509.Certificate] = (),
    ) -> None:
        """The user holds a contact for ``other`` with ``certificate``, processed already."""
        now = self.clock.now()
        self.user(name).client.import_contact(
            Contact(
                address=self.user(other).address,
                certificate=certificate,
                issuers=tuple(issuers),
                added_at=now,
                processed_at=now,
            )
        )

    def address(self, name: str) -> str:
        """A user's address; names not set up as users are taken as addresses if they contain @."""
        if "@" in name:
            return name
        return self.user(name).address

    # -- policy ---------------------------------------------------------------

    def chosen_policy(self, org: Organization) -> Policy | None:
        """The policy a step chose for ``org``; None when the scenario chose none."""
        return self.org_policies.get(org.name.lower(), self.policy)

    def choose_policy(self, policy: Policy, org_name: str | None = None) -> None:
        """Every organization (or one) follows ``policy`` from now on, clients included."""
        if org_name is None:
            self.policy = policy
            self.org_policies.clear()
            targets = list(self.organizations.values())
        else:
            org = self.organization(org_name)
            self.org_policies[org.name.lower()] = policy
            targets = [org]
        for org in targets:
            org.adopt(policy)
            for user in self.users.values():
                if user.organization is org:
                    policy.configure(user.client)

    # -- certificates held now and before -------------------------------------

    def enrollment(self, name: str, which: str = "current") -> Enrollment:
        if which not in GENERATIONS:
            raise InputError(f"which certificates ({', '.join(GENERATIONS)})", repr(which))
        table = self.enrollments if which == "current" else self.previous_enrollments
        try:
            return table[name.lower()]
        except KeyError:
            raise InputError(f"a {which} enrollment of {name}", "none") from None

    def encryption_certificate(self, name: str, which: str = "current") -> x509.Certificate:
        return self.enrollment(name, which).encryption.certificate

    def renew(self, name: str) -> Enrollment:
        user = self.user(name)
        self.previous_enrollments[name.lower()] = self.enrollment(name)
        enrollment = user.organization.renew(user.address)
        self.enrollments[name.lower()] = enrollment
        return enrollment

    def install(self, name: str, enrollment: Enrollment) -> None:
        """Credentials imported from elsewhere become the user's current ones."""
        user = self.user(name)
        if name.lower() in self.enrollments:
            self.previous_enrollments[name.lower()] = self.enrollments[name.lower()]
        self.enrollments[name.lower()] = enrollment
        user.client.install(enrollment)

    # -- files named in steps, and time ----------------------------------------

    def resolve(self, path: str, what: str = "a file") -> Path:
        """A file named in a step, inside the feature file's folder tree (or an allowed folder).

        Every step that takes a file comes here. Symbolic links are resolved first, so a
        link inside the folder that points outside is outside: a scenario must not copy
        ``../../etc/passwd`` or a private key elsewhere on the machine into a report.
        """
        candidate = Path(path)
        joined = candidate if candidate.is_absolute() else self.base_dir / candidate
        resolved = joined.resolve()
        folders = (self.base_dir.resolve(), *(folder.resolve() for folder in self.allowed_dirs))
        if not any(resolved.is_relative_to(folder) for folder in folders):
            allowed = " or ".join(str(folder) for folder in folders)
            raise OutsideFolderError(
                f"{what} inside {allowed} (the feature's folder; allow another with --allow-files)",
                f"{path!r}, which is {resolved}",
                source=self.step_source,
            )
        return resolved

    def read_file(self, path: str, what: str) -> tuple[Path, bytes]:
        """The bytes of a file named in a step, or an error naming the file and the folder."""
        resolved = self.resolve(path, what)
        try:
            return resolved, resolved.read_bytes()
        except FileNotFoundError:
            source = self.step_source or path
            raise InputError(f"{what} at {resolved}", "no such file", source=source) from None
        except OSError as exc:
            found = exc.strerror or str(exc)
            source = self.step_source or path
            raise InputError(f"a readable {what} at {resolved}", found, source=source) from None

    def advance(self, delta: dt.timedelta) -> None:
        self.clock.advance(delta)

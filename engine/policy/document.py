"""An organization's S/MIME policy, as data: a TOML file read with :mod:`tomllib`.

A policy says which algorithms are allowed and preferred, what a certificate
must look like, whether revocation is checked, and how the organization's mail
clients behave (profile, processing delay, unenrolled recipients, trust on
first use). Files are validated against :data:`SCHEMA`: an unknown key, a wrong
type or an impossible combination is a :class:`PolicyError` naming the file,
the dotted key path, what was expected and what was found.

Built-in policies ship as TOML beside this module (``engine/policy/builtin/``) and
load through the same reader: ``outlook98`` (the article's behaviour, the
default), ``rfc8551`` (S/MIME 4.0 algorithms) and ``strict`` (today's practice,
CA/B Forum S/MIME Baseline Requirements strict profile).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine._internal import toml_schema
from engine._internal.toml_schema import Field as _Field
from engine._internal.toml_schema import Reader as _Reader
from engine._internal.toml_schema import TomlFileError
from engine.cms.algorithms import SIGNING_DIGESTS, ContentCipher, DigestAlgorithm, KeyTransport
from engine.errors import InputError
from engine.mail.profile import BUILTIN as BUILTIN_PROFILES
from engine.mail.profile import ClientProfile, Fallback, load_profile
from engine.pki.smbr import CertificateProfile

if TYPE_CHECKING:
    from engine.mail.client import MailClient

DEFAULT_POLICY = "outlook98"
BUILTIN = ("outlook98", "rfc8551", "strict")


class PolicyError(TomlFileError):
    """A policy file is unreadable, malformed or self-contradictory.

    ``file`` names the policy file, ``key`` the dotted key path (or the line and
    column of a syntax error); ``expected`` and ``found`` say the rest.
    """


class Verdict(enum.Enum):
    """What a policy does about something discouraged (SHA-1, unauthenticated encryption)."""

    ALLOW = "allow"  # reported as info
    WARN = "warn"  # reported as a warning
    REFUSE = "refuse"  # reported as an error


CURVES = ("p-256", "p-384", "p-521")
_CURVE_NAMES = {"secp256r1": "p-256", "secp384r1": "p-384", "secp521r1": "p-521"}


def curve_label(curve_name: str) -> str:
    """``secp256r1`` → ``p-256``; other curves keep their name."""
    return _CURVE_NAMES.get(curve_name, curve_name)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AlgorithmPolicy:
    content_encryption: tuple[ContentCipher, ...]  # allowed, in order of preference
    preferred_content_encryption: ContentCipher
    unauthenticated_encryption: Verdict  # CBC without integrity (EFAIL)
    key_transport: tuple[KeyTransport, ...]
    signature_hashes: tuple[DigestAlgorithm, ...]  # never SHA-1: see ``sha1``
    sha1: Verdict


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class KeyPolicy:
    min_rsa_bits: int
    curves: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CertificatePolicy:
    require_v3: bool
    require_rfc822_name: bool
    require_key_usage: bool
    require_email_protection: bool
    email_protection_only: bool
    max_validity_days: int | None
    # The SMBR certificate profile the policy claims: certificates are linted against it
    # with pkilint (engine.policy.lint) and the organization's CA issues to it. None: no claim.
    profile: CertificateProfile | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ClientPolicy:
    profile: str  # as the file says: a built-in profile's name or a .toml file
    processing_delay: dt.timedelta
    unenrolled_recipients: Fallback
    trust_on_first_use: bool
    # The profile ``profile`` names, read when the policy was (a file relative to the policy).
    base_profile: ClientProfile | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    name: str
    description: str
    source: str  # the file it came from, or "built-in <name>"
    algorithms: AlgorithmPolicy
    keys: KeyPolicy
    certificates: CertificatePolicy
    revocation_checking: bool
    client: ClientPolicy

    @property
    def content_ciphers(self) -> tuple[ContentCipher, ...]:
        """The allowed content-encryption algorithms (what an organization may use)."""
        return self.algorithms.content_encryption

    def client_profile(self, base: ClientProfile | None = None) -> ClientProfile:
        """The policy's client profile: its delay, its answer to unenrolled recipients,
        announcing only allowed ciphers, the preferred one first."""
        profile = base or self.client.base_profile or load_profile(self.client.profile)
        allowed = self.algorithms.content_encryption
        preferred = self.algorithms.preferred_content_encryption
        announced = [c for c in profile.capabilities if c in allowed] or list(allowed)
        if preferred in announced:
            announced.remove(preferred)
        announced.insert(0, preferred)
        return dataclasses.replace(
            profile,
            processing_delay=self.client.processing_delay,
            when_none_usable=self.client.unenrolled_recipients,
            when_some_usable=self.client.unenrolled_recipients,
            capabilities=tuple(announced),
        )

    @property
    def certificate_profile(self) -> CertificateProfile | None:
        """The SMBR profile the policy claims (what an organization's CA issues to)."""
        return self.certificates.profile

    def configure(self, client: MailClient) -> None:
        """Make a mail client behave as this policy says (profile, delay, trust, revocation)."""
        client.profile = self.client_profile()
        client.trust_on_first_use = self.client.trust_on_first_use
        client.check_revocation = self.revocation_checking


# --- schema ---------------------------------------------------------------------


_CIPHERS = tuple(c.value for c in ContentCipher)
_TRANSPORTS = tuple(t.value for t in KeyTransport)
_HASHES = tuple(d.value for d in SIGNING_DIGESTS)
_VERDICTS = tuple(v.value for v in Verdict)
NO_PROFILE = "none"
_CERTIFICATE_PROFILES = (NO_PROFILE, *(p.value for p in CertificateProfile))

SCHEMA: dict[str, Any] = {
    "name": _Field("str"),
    "description": _Field("str", required=False),
    "extends": _Field("choice", BUILTIN, required=False),
    "algorithms": {
        "content_encryption": _Field("choices", _CIPHERS),
        "preferred_content_encryption": _Field("choice", _CIPHERS),
        "unauthenticated_encryption": _Field("choice", _VERDICTS),
        "key_transport": _Field("choices", _TRANSPORTS),
        "signature_hashes": _Field("choices", _HASHES),
        "sha1": _Field("choice", _VERDICTS),
    },
    "keys": {
        "min_rsa_bits": _Field("int", minimum=1024, maximum=16384),
        "curves": _Field("choices", CURVES),
    },
    "certificates": {
        "require_v3": _Field("bool"),
        "require_rfc822_name": _Field("bool"),
        "require_key_usage": _Field("bool"),
        "require_email_protection": _Field("bool"),
        "email_protection_only": _Field("bool"),
        "max_validity_days": _Field("int", minimum=1, required=False),
        "profile": _Field("choice", _CERTIFICATE_PROFILES, required=False),
    },
    "revocation": {"check": _Field("bool")},
    "client": {
        "profile": _Field("str"),  # a built-in profile's name, or a .toml file beside the policy
        "processing_delay_minutes": _Field("int", minimum=0, maximum=10080),
        "unenrolled_recipients": _Field("choice", tuple(f.value for f in Fallback)),
        "trust_on_first_use": _Field("bool"),
    },
}


def _parse(text: str, file: str) -> dict[str, Any]:
    return toml_schema.parse(text, file, PolicyError)


def _builtin_text(name: str) -> str:
    return resources.files("engine.policy").joinpath("builtin", f"{name}.toml").read_text("utf-8")


def policy_from_text(
    text: str,
    *,
    file: str,
    base_dir: Path | None = None,
    confine: Callable[[Path], Path] | None = None,
) -> Policy:
    """A policy from TOML text; ``file`` names it in errors.

    A client profile given as a file is read relative to ``base_dir`` (the policy's
    folder), its path vetted by ``confine`` first when given (a scenario's folder tree).
    """
    data = _parse(text, file)
    base = data.get("extends")
    if isinstance(base, str) and base in BUILTIN:
        parent = _parse(_builtin_text(base), f"built-in {base}")
        parent.pop("description", None)
        data = toml_schema.merge(parent, data)
    reader = _Reader(file, PolicyError)
    reader.table(data, SCHEMA, "")
    profile = _client_profile(data["client"]["profile"], reader, base_dir, confine)
    return _build(data, reader, source=file, profile=profile)


def _client_profile(
    reference: str,
    reader: _Reader,
    base_dir: Path | None,
    confine: Callable[[Path], Path] | None,
) -> ClientProfile:
    """The profile ``[client] profile`` names; a bad file fails with the file's own error."""
    if reference.strip().lower() not in BUILTIN_PROFILES and not reference.endswith(".toml"):
        raise reader.error(
            "client.profile",
            f"a built-in client profile ({', '.join(BUILTIN_PROFILES)}) or a .toml file",
            repr(reference),
        )
    return load_profile(reference, base_dir=base_dir, confine=confine)


def _build(
    data: Mapping[str, Any], reader: _Reader, *, source: str, profile: ClientProfile
) -> Policy:
    algorithms = data["algorithms"]
    ciphers = tuple(ContentCipher(v) for v in algorithms["content_encryption"])
    preferred = ContentCipher(algorithms["preferred_content_encryption"])
    unauthenticated = Verdict(algorithms["unauthenticated_encryption"])
    if preferred not in ciphers:
        raise reader.error(
            "algorithms.preferred_content_encryption",
            f"one of algorithms.content_encryption ({', '.join(c.value for c in ciphers)})",
            repr(preferred.value),
        )
    if preferred.legacy:
        raise reader.error(
            "algorithms.preferred_content_encryption",
            "a cipher the engine encrypts with (3DES is decrypt-only)",
            repr(preferred.value),
        )
    cbc = [c.value for c in ciphers if not c.authenticated and not c.legacy]
    if unauthenticated is Verdict.REFUSE and cbc:
        raise reader.error(
            "algorithms.content_encryption",
            "only authenticated ciphers while algorithms.unauthenticated_encryption is 'refuse'",
            f"{', '.join(cbc)} (unauthenticated CBC)",
        )
    certificates = data["certificates"]
    if certificates["email_protection_only"] and not certificates["require_email_protection"]:
        raise reader.error(
            "certificates.email_protection_only",
            "false while certificates.require_email_protection is false",
            "true",
        )
    client = data["client"]
    return Policy(
        name=data["name"],
        description=data.get("description", ""),
        source=source,
        algorithms=AlgorithmPolicy(
            content_encryption=ciphers,
            preferred_content_encryption=preferred,
            unauthenticated_encryption=unauthenticated,
            key_transport=tuple(KeyTransport(v) for v in algorithms["key_transport"]),
            signature_hashes=tuple(DigestAlgorithm(v) for v in algorithms["signature_hashes"]),
            sha1=Verdict(algorithms["sha1"]),
        ),
        keys=KeyPolicy(
            min_rsa_bits=data["keys"]["min_rsa_bits"], curves=tuple(data["keys"]["curves"])
        ),
        certificates=CertificatePolicy(
            require_v3=certificates["require_v3"],
            require_rfc822_name=certificates["require_rfc822_name"],
            require_key_usage=certificates["require_key_usage"],
            require_email_protection=certificates["require_email_protection"],
            email_protection_only=certificates["email_protection_only"],
            max_validity_days=certificates.get("max_validity_days"),
            profile=_certificate_profile(certificates.get("profile", NO_PROFILE)),
        ),
        revocation_checking=data["revocation"]["check"],
        client=ClientPolicy(
            profile=client["profile"],
            processing_delay=dt.timedelta(minutes=client["processing_delay_minutes"]),
            unenrolled_recipients=Fallback(client["unenrolled_recipients"]),
            trust_on_first_use=client["trust_on_first_use"],
            base_profile=profile,
        ),
    )


def _certificate_profile(value: str) -> CertificateProfile | None:
    return None if value == NO_PROFILE else CertificateProfile(value)


def load_policy_file(path: Path, *, confine: Callable[[Path], Path] | None = None) -> Policy:
    """Read and validate a policy file (and the client profile file it names, if any)."""
    text = toml_schema.read_text(path, "a policy file", PolicyError)
    return policy_from_text(text, file=str(path), base_dir=path.parent, confine=confine)


# One entry per built-in name at most (an unknown name raises, and errors are not kept).
@functools.lru_cache(maxsize=len(BUILTIN))
def builtin_policy(name: str) -> Policy:
    """One of the built-in policies (:data:`BUILTIN`)."""
    if name not in BUILTIN:
        raise InputError(f"a built-in policy ({', '.join(BUILTIN)}) or a .toml file", repr(name))
    return policy_from_text(_builtin_text(name), file=f"built-in {name}")


def default_policy() -> Policy:
    return builtin_policy(DEFAULT_POLICY)


def load_policy(
    reference: str,
    *,
    base_dir: Path | None = None,
    confine: Callable[[Path], Path] | None = None,
) -> Policy:
    """A built-in policy by name, or a TOML file (relative to ``base_dir`` when given);
    ``confine`` vets the path of a client profile file the policy names."""
    if reference in BUILTIN:
        return builtin_policy(reference)
    path = Path(reference)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if path.suffix != ".toml" and not path.exists():
        raise InputError(
            f"a built-in policy ({', '.join(BUILTIN)}) or a .toml file", repr(reference)
        )
    return load_policy_file(path, confine=confine)

"""An organization's S/MIME policy, as data: a TOML file read with :mod:`tomllib`.

A policy says which algorithms are allowed and preferred, what a certificate
must look like, whether revocation is checked, and how the organization's mail
clients behave (profile, processing delay, unenrolled recipients, trust on
first use). Files are validated against :data:`SCHEMA`: an unknown key, a wrong
type or an impossible combination is a :class:`PolicyError` naming the file,
the dotted key path, what was expected and what was found.

Built-in policies ship as TOML beside this module (``engine/policies/``) and
load through the same reader: ``outlook98`` (the article's behaviour, the
default), ``rfc8551`` (S/MIME 4.0 algorithms) and ``strict`` (today's practice,
CA/B Forum S/MIME Baseline Requirements strict profile).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import enum
import functools
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.algorithms import ContentCipher, DigestAlgorithm, KeyTransport
from engine.errors import InputError
from engine.profile import PROFILES, ClientProfile, Fallback, profile_named
from engine.smbr import CertificateProfile

if TYPE_CHECKING:
    from engine.client import MailClient

DEFAULT_POLICY = "outlook98"
BUILTIN = ("outlook98", "rfc8551", "strict")


class PolicyError(InputError):
    """A policy file is unreadable, malformed or self-contradictory.

    ``file`` names the policy file, ``key`` the dotted key path (or the line and
    column of a syntax error); ``expected`` and ``found`` say the rest.
    """

    def __init__(self, *, file: str, key: str, expected: str, found: str) -> None:
        self.file = file
        self.key = key
        super().__init__(expected, found, source=f"{file}: {key}")


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
    # with pkilint (engine.lint) and the organization's CA issues to it. None: no claim.
    profile: CertificateProfile | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ClientPolicy:
    profile: str
    processing_delay: dt.timedelta
    unenrolled_recipients: Fallback
    trust_on_first_use: bool


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
        profile = base or profile_named(self.client.profile)
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


@dataclasses.dataclass(frozen=True, slots=True)
class _Field:
    kind: str  # "str", "bool", "int", "choice", "choices"
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    required: bool = True

    def describe(self) -> str:
        if self.kind == "str":
            return "a string"
        if self.kind == "bool":
            return "true or false"
        if self.kind == "int":
            bounds = [f">= {self.minimum}"] if self.minimum is not None else []
            bounds += [f"<= {self.maximum}"] if self.maximum is not None else []
            return " ".join(["an integer", " and ".join(bounds)]).strip()
        if self.kind == "choice":
            return f"one of {', '.join(self.choices)}"
        return f"a non-empty list of distinct values from {', '.join(self.choices)}"


_CIPHERS = tuple(c.value for c in ContentCipher)
_TRANSPORTS = tuple(t.value for t in KeyTransport)
_HASHES = tuple(d.value for d in DigestAlgorithm if d is not DigestAlgorithm.SHA1)
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
        "profile": _Field("choice", tuple(sorted(PROFILES))),
        "processing_delay_minutes": _Field("int", minimum=0, maximum=10080),
        "unenrolled_recipients": _Field("choice", tuple(f.value for f in Fallback)),
        "trust_on_first_use": _Field("bool"),
    },
}


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"float {value}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


class _Reader:
    """Validates a parsed TOML document against :data:`SCHEMA`, naming the file on error."""

    def __init__(self, file: str) -> None:
        self.file = file

    def error(self, key: str, expected: str, found: str) -> PolicyError:
        return PolicyError(file=self.file, key=key, expected=expected, found=found)

    def table(self, data: Mapping[str, Any], schema: Mapping[str, Any], prefix: str) -> None:
        for key, value in data.items():
            path = f"{prefix}{key}"
            if key not in schema:
                known = ", ".join(schema)
                close = difflib.get_close_matches(key, list(schema), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise self.error(path, f"one of the keys {known}", f"unknown key {key!r}{hint}")
            spec = schema[key]
            if isinstance(spec, dict):
                if not isinstance(value, dict):
                    raise self.error(path, "a table", _type_name(value))
                self.table(value, spec, f"{path}.")
            else:
                self.value(path, value, spec)
        for key, spec in schema.items():
            required = isinstance(spec, dict) or spec.required
            if required and key not in data:
                expected = "a table" if isinstance(spec, dict) else spec.describe()
                raise self.error(f"{prefix}{key}", expected, "nothing (the key is missing)")

    def value(self, path: str, value: object, spec: _Field) -> None:
        expected = spec.describe()
        if spec.kind == "str":
            if not isinstance(value, str):
                raise self.error(path, expected, _type_name(value))
        elif spec.kind == "bool":
            if not isinstance(value, bool):
                raise self.error(path, expected, _type_name(value))
        elif spec.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.error(path, expected, _type_name(value))
            if (spec.minimum is not None and value < spec.minimum) or (
                spec.maximum is not None and value > spec.maximum
            ):
                raise self.error(path, expected, str(value))
        elif spec.kind == "choice":
            if not isinstance(value, str):
                raise self.error(path, expected, _type_name(value))
            if value not in spec.choices:
                raise self.error(path, expected, repr(value))
        else:
            if not isinstance(value, list):
                raise self.error(path, expected, _type_name(value))
            if not value:
                raise self.error(path, expected, "an empty list")
            for index, item in enumerate(value):
                if not isinstance(item, str):
                    raise self.error(f"{path}[{index}]", expected, _type_name(item))
                if item not in spec.choices:
                    raise self.error(f"{path}[{index}]", expected, repr(item))
            duplicates = sorted({v for v in value if value.count(v) > 1})
            if duplicates:
                raise self.error(path, expected, f"{duplicates[0]!r} twice")


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _parse(text: str, file: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        detail = str(exc)
        where = "syntax"
        if "(at " in detail and detail.endswith(")"):
            detail, _, position = detail.rpartition(" (at ")
            where = position[:-1]
        raise PolicyError(
            file=file, key=where, expected="valid TOML", found=detail[:1].lower() + detail[1:]
        ) from None


def _builtin_text(name: str) -> str:
    return resources.files("engine").joinpath("policies", f"{name}.toml").read_text("utf-8")


def policy_from_text(text: str, *, file: str) -> Policy:
    """A policy from TOML text; ``file`` names it in errors."""
    data = _parse(text, file)
    base = data.get("extends")
    if isinstance(base, str) and base in BUILTIN:
        parent = _parse(_builtin_text(base), f"built-in {base}")
        parent.pop("description", None)
        data = _merge(parent, data)
    reader = _Reader(file)
    reader.table(data, SCHEMA, "")
    return _build(data, reader, source=file)


def _build(data: Mapping[str, Any], reader: _Reader, *, source: str) -> Policy:
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
        ),
    )


def _certificate_profile(value: str) -> CertificateProfile | None:
    return None if value == NO_PROFILE else CertificateProfile(value)


def load_policy_file(path: Path) -> Policy:
    """Read and validate a policy file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PolicyError(
            file=str(path), key="(file)", expected="a policy file", found="no such file"
        ) from None
    except OSError as exc:
        raise PolicyError(
            file=str(path),
            key="(file)",
            expected="a readable policy file",
            found=exc.strerror or str(exc),
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError(
            file=str(path), key="(file)", expected="UTF-8 TOML text", found="undecodable bytes"
        ) from None
    return policy_from_text(text, file=str(path))


@functools.cache
def builtin_policy(name: str) -> Policy:
    """One of the built-in policies (:data:`BUILTIN`)."""
    if name not in BUILTIN:
        raise InputError(f"a built-in policy ({', '.join(BUILTIN)}) or a .toml file", repr(name))
    return policy_from_text(_builtin_text(name), file=f"built-in {name}")


def default_policy() -> Policy:
    return builtin_policy(DEFAULT_POLICY)


def load_policy(reference: str, *, base_dir: Path | None = None) -> Policy:
    """A built-in policy by name, or a TOML file (relative to ``base_dir`` when given)."""
    if reference in BUILTIN:
        return builtin_policy(reference)
    path = Path(reference)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if path.suffix != ".toml" and not path.exists():
        raise InputError(
            f"a built-in policy ({', '.join(BUILTIN)}) or a .toml file", repr(reference)
        )
    return load_policy_file(path)

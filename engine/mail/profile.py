"""Client behaviour profiles: how a mail client acts, as data rather than code branches.

A profile is a TOML file read and validated like a policy (:mod:`engine._internal.toml_schema`):
an unknown key, a wrong type or a syntax error is a :class:`ProfileError` naming the
file, the key, what was expected and what was found. The built-in profiles are the
files in ``engine/mail/profiles/``: ``outlook98`` is the article's client; ``thunderbird``
a modern one that captures certificates by itself and refuses rather than prompts.
Another client is one more file, selected by a step or a policy's ``[client] profile``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from engine._internal import toml_schema
from engine._internal.toml_schema import Field, Reader, TomlFileError
from engine.cms.algorithms import ContentCipher
from engine.errors import InputError


class Fallback(enum.Enum):
    """What the client does when recipients lack a usable certificate."""

    PROMPT = "prompt"  # ask: the article's behaviour (KB-04, IMP-04)
    REFUSE = "refuse"  # refuse to send encrypted, and say why


class Source(enum.Enum):
    """Where a client finds a recipient's certificate (KB-03, IMP-01)."""

    DIRECTORY = "directory"
    CONTACTS = "contacts"
    REPLY = "reply"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ClientProfile:
    name: str
    lookup_order: tuple[Source, ...]
    when_none_usable: Fallback
    when_some_usable: Fallback
    auto_capture: bool  # adds/updates contacts from valid signed mail by itself
    processing_delay: dt.timedelta  # KB-13: new or updated contact certificates wait this long
    encrypt_to_self: bool  # IMP-02
    opaque_inside_encryption: bool  # Outlook nests opaque signed-data; Thunderbird multipart/signed
    require_trusted_recipient: bool  # encrypt only to certificates that chain to a trusted CA
    capabilities: tuple[ContentCipher, ...]  # announced in signed mail, most preferred first

    def __post_init__(self) -> None:
        if not self.lookup_order:
            raise InputError("at least one certificate source", "none", source=self.name)
        if self.processing_delay < dt.timedelta(0):
            raise InputError("a non-negative processing delay", str(self.processing_delay))
        if not self.capabilities:
            raise InputError("at least one announced cipher", "none", source=self.name)

    def with_delay(self, delay: dt.timedelta) -> ClientProfile:
        return dataclasses.replace(self, processing_delay=delay)


class ProfileError(TomlFileError):
    """A client profile file is unreadable, malformed or does not match :data:`SCHEMA`."""


def _builtin_names() -> tuple[str, ...]:
    """The built-in profiles: every ``engine/mail/profiles/*.toml``, by file name."""
    folder = resources.files("engine.mail").joinpath("profiles")
    return tuple(
        sorted(
            entry.name[: -len(".toml")]
            for entry in folder.iterdir()
            if entry.name.endswith(".toml")
        )
    )


BUILTIN = _builtin_names()
_FALLBACKS = tuple(f.value for f in Fallback)

# One key per field of ClientProfile; the delay is in whole minutes, as in a policy.
SCHEMA: dict[str, Any] = {
    "name": Field("str"),
    "description": Field("str", required=False),
    "extends": Field("choice", BUILTIN, required=False),
    "lookup_order": Field("choices", tuple(s.value for s in Source)),
    "when_none_usable": Field("choice", _FALLBACKS),
    "when_some_usable": Field("choice", _FALLBACKS),
    "require_trusted_recipient": Field("bool"),
    "encrypt_to_self": Field("bool"),
    "auto_capture": Field("bool"),
    "processing_delay_minutes": Field("int", minimum=0, maximum=10080),
    "opaque_inside_encryption": Field("bool"),
    "capabilities": Field("choices", tuple(c.value for c in ContentCipher)),
}


def _builtin_text(name: str) -> str:
    return resources.files("engine.mail").joinpath("profiles", f"{name}.toml").read_text("utf-8")


def profile_from_text(text: str, *, file: str) -> ClientProfile:
    """A client profile from TOML text; ``file`` names it in errors."""
    data = toml_schema.parse(text, file, ProfileError)
    base = data.get("extends")
    if isinstance(base, str) and base in BUILTIN:
        parent = toml_schema.parse(_builtin_text(base), f"built-in {base}", ProfileError)
        parent.pop("description", None)
        data = toml_schema.merge(parent, data)
    reader = Reader(file, ProfileError)
    reader.table(data, SCHEMA, "")
    return _build(data, reader)


def _build(data: Mapping[str, Any], reader: Reader) -> ClientProfile:
    name = data["name"]
    if not name.strip() or not name.isprintable():
        raise reader.error("name", "a non-empty one-line name", repr(name))
    return ClientProfile(
        name=name,
        lookup_order=tuple(Source(v) for v in data["lookup_order"]),
        when_none_usable=Fallback(data["when_none_usable"]),
        when_some_usable=Fallback(data["when_some_usable"]),
        auto_capture=data["auto_capture"],
        processing_delay=dt.timedelta(minutes=data["processing_delay_minutes"]),
        encrypt_to_self=data["encrypt_to_self"],
        opaque_inside_encryption=data["opaque_inside_encryption"],
        require_trusted_recipient=data["require_trusted_recipient"],
        capabilities=tuple(ContentCipher(v) for v in data["capabilities"]),
    )


def load_profile_file(path: Path) -> ClientProfile:
    """Read and validate a client profile file."""
    text = toml_schema.read_text(path, "a client profile file", ProfileError)
    return profile_from_text(text, file=str(path))


# One entry per built-in name at most (an unknown name raises, and errors are not kept).
@functools.lru_cache(maxsize=len(BUILTIN))
def builtin_profile(name: str) -> ClientProfile:
    """One of the built-in profiles (:data:`BUILTIN`), read from its file once."""
    if name not in BUILTIN:
        raise InputError(f"a built-in client profile ({', '.join(BUILTIN)})", repr(name))
    file = f"built-in {name}"
    profile = profile_from_text(_builtin_text(name), file=file)
    if profile.name != name:
        raise ProfileError(file=file, key="name", expected=repr(name), found=repr(profile.name))
    return profile


def load_profile(
    reference: str,
    *,
    base_dir: Path | None = None,
    confine: Callable[[Path], Path] | None = None,
) -> ClientProfile:
    """A built-in profile by name, or a ``.toml`` file (relative to ``base_dir`` when given).

    ``confine`` vets a file's path before it is read (a scenario's folder tree) and
    returns the path to read.
    """
    name = reference.strip().lower()
    if name in BUILTIN:
        return builtin_profile(name)
    path = Path(reference)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if path.suffix != ".toml":
        raise InputError(
            f"a client profile ({', '.join(BUILTIN)}) or a .toml file", repr(reference)
        )
    return load_profile_file(confine(path) if confine is not None else path)


PROFILES: dict[str, ClientProfile] = {name: builtin_profile(name) for name in BUILTIN}
OUTLOOK98 = PROFILES["outlook98"]
THUNDERBIRD = PROFILES["thunderbird"]
DEFAULT_PROFILE = OUTLOOK98

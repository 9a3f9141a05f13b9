"""Steps about each person's mail client and the scenario's clock.

Which organizations' certificate authorities a client trusts, the client profile it
follows (built in, or a TOML file beside the feature), the processing delay before a
newly added contact is used, a restart, and time passing.
"""

from __future__ import annotations

from engine.clock import duration
from engine.harness.steps.expectation import one_of
from engine.harness.steps.library import setup_or_action
from engine.harness.world import World
from engine.mail.profile import PROFILES, ClientProfile, load_profile, load_profile_file


@setup_or_action("{user:w} trusts {org:w}'s certificate authority", example={"org": "Fabrikam"})
def trusts(world: World, user: str, org: str) -> None:
    world.trust(user, org)


@setup_or_action(
    "{user:w} no longer trusts {org:w}'s certificate authority", example={"org": "Fabrikam"}
)
def distrusts(world: World, user: str, org: str) -> None:
    world.distrust(user, org)


@setup_or_action('every client uses the "{profile}" profile', values={"profile": PROFILES})
def every_client_profile(world: World, profile: str) -> None:
    """Every client follows a built-in profile or a .toml file (relative to the feature)."""
    world.use_profile(_profile(world, profile))


@setup_or_action('{user:w} uses the "{profile}" profile', values={"profile": PROFILES})
def user_profile(world: World, user: str, profile: str) -> None:
    """One client follows a built-in profile or a .toml file (relative to the feature)."""
    world.use_profile(_profile(world, profile), user)


def _profile(world: World, reference: str) -> ClientProfile:
    """A built-in profile by name, or a .toml file inside the feature's folder tree."""
    if not reference.endswith(".toml"):
        return load_profile(reference)  # a built-in one, or an error naming them
    return load_profile_file(world.resolve(reference, "a client profile file"))


@setup_or_action("the client processing delay is {minutes:d} minutes")
def processing_delay(world: World, minutes: int) -> None:
    world.set_processing_delay(duration(minutes=minutes))


_UNITS = {
    "minute": "minutes",
    "minutes": "minutes",
    "hour": "hours",
    "hours": "hours",
    "day": "days",
    "days": "days",
}


@setup_or_action(
    "{count:d} {unit:w} pass", values={"unit": _UNITS}, example={"count": "5", "unit": "minutes"}
)
def time_passes(world: World, count: int, unit: str) -> None:
    if unit not in _UNITS:
        raise one_of("a unit of time", _UNITS, unit)
    world.advance(duration(**{_UNITS[unit]: count}))


@setup_or_action(
    "{count:d} {unit:w} passes", values={"unit": _UNITS}, example={"count": "1", "unit": "hour"}
)
def time_passes_once(world: World, count: int, unit: str) -> None:
    """The clock moves on, said in the singular: "1 hour passes"."""
    time_passes(world, count, unit)


@setup_or_action("{user:w} restarts the mail client")
def restart(world: World, user: str) -> None:
    world.user(user).client.restart()


@setup_or_action("nothing unusual has happened")
def nothing_unusual(world: World) -> None:
    """A placeholder for Examples rows that change nothing."""


@setup_or_action("nothing else happens")
def nothing_else(world: World) -> None:
    """A placeholder for Examples rows that change nothing."""

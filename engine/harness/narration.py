"""Narrate a scenario as it runs: each step, and what the people in it saw.

A pytest plugin object for the runner; ``smime-harness demo`` uses it to tell
the article's walkthrough in the terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.harness.world import World


class Narrator:
    """Prints each step with a mark, then any prompt shown and any message sent during it."""

    def __init__(self, say: Callable[[str], object], *, roots: Path | None = None) -> None:
        self._say = say
        self._roots = roots  # where to write each organization's root certificate (public)
        self._seen: tuple[int, int] = (0, 0)
        self.written: list[Path] = []

    def _print(self, request: Any, text: str) -> None:
        """Write past pytest's output capture, so the narration shows as it happens."""
        capture = request.config.pluginmanager.getplugin("capturemanager")
        if capture is None:
            self._say(text)
            return
        with capture.global_and_fixture_disabled():
            self._say(text)

    def _world(self, request: Any) -> World | None:
        from engine.harness.plugin import WORLD_KEY

        state: World | None = request.node.stash.get(WORLD_KEY, None)
        return state

    def pytest_bdd_before_scenario(self, request: Any, feature: Any, scenario: Any) -> None:
        self._print(request, f"{feature.name}: {scenario.name}")
        self._seen = (0, 0)

    def pytest_bdd_after_step(self, request: Any, step: Any, **_: Any) -> None:
        self._print(request, f"  ✓ {step.keyword} {step.name}")
        state = self._world(request)
        if state is not None:
            for line in self._events(state):
                self._print(request, line)

    def pytest_bdd_after_scenario(self, request: Any, feature: Any, scenario: Any) -> None:
        state = self._world(request)
        if state is None or self._roots is None:
            return
        from cryptography.hazmat.primitives.serialization import Encoding

        from engine._internal.files import write_atomically

        for org in state.organizations.values():
            path = self._roots / f"{org.domain.split('.')[0]}-root.pem"
            write_atomically(path, org.ca.root.public_bytes(Encoding.PEM))  # a link: replaced
            self.written.append(path)

    def pytest_bdd_step_error(
        self, request: Any, step: Any, exception: BaseException, **_: Any
    ) -> None:
        self._print(request, f"  ✗ {step.keyword} {step.name}")
        self._print(request, f"      {exception}")

    def _events(self, state: World) -> list[str]:
        lines: list[str] = []
        prompts, sends = self._seen
        for event in state.prompt_log[prompts:]:
            choices = " / ".join(c.value for c in event.prompt.choices)
            lines.append(f"      {event.user} sees: “{event.prompt.text}” [{choices}]")
            lines.extend(_why(state, event.prompt))
        for send in state.sends[sends:]:
            outcome = send.outcome
            decision = outcome.decision
            if outcome.encrypted and decision is not None and decision.cipher is not None:
                cipher = decision.cipher.cipher.value if decision.cipher.cipher else "?"
                readers = ", ".join(outcome.encrypted_for)
                what = f"sent encrypted ({cipher}) for {readers}"
            elif outcome.message is not None:
                what = "sent signed" if outcome.signed else "sent in clear"
            else:
                what = f"{outcome.status.value}: nothing sent"
            where = f" → {send.artifact.name}" if send.artifact else ""
            lines.append(f"      {send.sender.address}: {what}{where}")
        self._seen = (len(state.prompt_log), len(state.sends))
        return lines


def _why(state: World, prompt: Any) -> list[str]:
    """Why a send prompted: each recipient without a usable certificate, and the reason
    (a contact still within the processing delay says so, and from when, KB-13)."""
    outcome = state.last_send
    if outcome is None or outcome.prompt is not prompt or outcome.decision is None:
        return []
    return [
        f"      why: {item.address}: {item.reason}"
        for item in outcome.decision.unusable
        if item.reason
    ]

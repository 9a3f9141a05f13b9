"""``smime-harness demo``: the article's walkthrough, narrated, with its report.

Runs the packaged walkthrough feature (engine/harness/walkthrough.feature)
through the scenario runner: each step is printed as it happens, with the
prompts people see and the messages that cross between Contoso and Fabrikam.
The messages, the organizations' root certificates and the HTML report are
written to the output folder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from engine.clock import SystemClock

WALKTHROUGH = Path(__file__).resolve().parent.parent / "harness" / "walkthrough.feature"

Say = Callable[[str], object]


def run_demo(out: Path, *, say: Say) -> int:
    """Run the walkthrough; write its report and artifacts under ``out``; return an exit code."""
    from engine.harness.narration import Narrator
    from engine.harness.runner import run_features

    say("Q197974: sending encrypted mail to a user in another organization.")
    say("Contoso (UserA) and Fabrikam (UserB) each run their own key management.\n")
    narrator = Narrator(say, roots=out)
    artifacts = out / "artifacts"
    result = run_features(
        [WALKTHROUGH],
        artifacts=artifacts,
        results=out / "summary.json",
        report=out,
        clock=SystemClock(),
        quiet=True,
        say=lambda _line: None,
        plugins=[narrator],
    )
    outcome = "passed" if result.exit_code == 0 else "FAILED"
    say(f"\nThe walkthrough {outcome}.")
    say(f"Report:    {out / 'index.html'}")
    say(f"Messages:  {artifacts}/")
    signed = sorted(artifacts.rglob("*-signed.eml"))
    root = out / "fabrikam-root.pem"
    if signed and root.exists():
        say("Check a message with OpenSSL:")
        say(f"  openssl cms -verify -CAfile {root} -in {signed[0]} -out /dev/null")
    return result.exit_code

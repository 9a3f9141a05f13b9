"""The commands that run scenarios and work with their reports: ``demo`` (the article's
walkthrough), ``run`` (Gherkin feature files with the built-in steps), ``report merge``
(one report from a CI job matrix's shards) and ``steps`` (the step vocabulary), with their
options.

The harness is imported inside the command functions, so ``--help`` loads no pytest.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine.cli.arguments import EXIT_FAILED, EXIT_OK, Parser, add_command, shard


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the article's walkthrough on the built-in default (Contoso and Fabrikam) and write its
    certificates and messages to a folder."""
    from engine.cli.demo import run_demo

    return run_demo(Path(args.out), say=print)


def cmd_run(args: argparse.Namespace) -> int:
    """Run the scenarios of .feature files (the built-in features by default) with the shipped step
    library. Exit 0 when every scenario passed, 1 when one failed, 2 for a missing path, a file
    that does not parse or holds a scenario that checks nothing (no Then step, a step lost to a
    misspelled keyword), or no scenario selected. Files named in steps must be inside the feature
    file's folder tree (see --allow-files)."""
    from engine.clock import SystemClock
    from engine.harness.runner import run_features

    report = Path(args.report)
    result = run_features(
        [Path(p) for p in args.paths],
        keyword=args.keyword,
        markers=args.markers,
        artifacts=Path(args.artifacts) if args.artifacts else report / "artifacts",
        results=Path(args.results) if args.results else report / "summary.json",
        report=report,
        clock=SystemClock(),
        quiet=args.quiet,
        workers=args.workers,
        shard=args.shard,
        allow_files=[Path(folder).resolve() for folder in args.allow_files],
    )
    return result.exit_code


def cmd_report_merge(args: argparse.Namespace) -> int:
    """Build one report (index.html, results.json, junit.xml, summary.json, records.json and the
    messages) from the report folders of several runs, e.g. the shards of `run --shard K/N`:
    every shard 1/N to N/N must be there once, and all must have run the same feature files. Exit
    0 when every scenario passed, 1 when one failed, 2 for a folder that is no report or shards
    that do not add up."""
    from engine.harness.runner import summarize_records
    from engine.report.merge import merge_reports
    from engine.report.model import ScenarioStatus

    out = Path(args.report)
    merged = merge_reports([Path(folder) for folder in args.folders], out)
    summarize_records(merged.scenarios, duration=merged.duration, say=print)
    runs = len(args.folders)
    print(f"report: {out / 'index.html'} (merged from {runs} run{'s' * (runs != 1)})")
    failed = any(s.status is ScenarioStatus.FAILED for s in merged.scenarios)
    return EXIT_FAILED if failed else EXIT_OK


def cmd_steps(args: argparse.Namespace) -> int:
    """Print every step sentence of the vocabulary with an example."""
    from engine.harness.vocabulary import render_json, render_text

    sys.stdout.write(render_json() if args.json else render_text())
    return EXIT_OK


def add_harness_commands(sub: Any) -> None:
    """``demo``, ``run``, ``report merge`` and ``steps``, in ``--help``'s order."""
    demo = add_command(
        sub,
        "demo",
        cmd_demo,
        help="walk through the article: two organizations, signed then encrypted mail",
    )
    demo.add_argument(
        "--out", default="reports/demo", help="artifact folder (default reports/demo)"
    )

    run = add_command(sub, "run", cmd_run, help="run Gherkin feature files with the built-in steps")
    run.add_argument("paths", nargs="*", metavar="PATH", help=".feature files or folders of them")
    run.add_argument(
        "-k", dest="keyword", metavar="EXPR", help="only scenarios whose names match (pytest -k)"
    )
    run.add_argument(
        "-m", dest="markers", metavar="MARKEXPR", help="only scenarios whose tags match, e.g. KB-04"
    )
    run.add_argument(
        "--report",
        default="reports",
        metavar="DIR",
        help="report folder: index.html, results.json (Cucumber JSON), junit.xml, "
        "summary.json and artifacts/ (default reports)",
    )
    run.add_argument(
        "--artifacts",
        default=None,
        metavar="DIR",
        help="each scenario's messages (.eml) go to DIR/<scenario>/ (default REPORT/artifacts)",
    )
    run.add_argument(
        "--results",
        default=None,
        metavar="FILE",
        help="a short machine-readable summary of outcomes (default REPORT/summary.json)",
    )
    run.add_argument(
        "--allow-files",
        action="append",
        default=[],
        metavar="DIR",
        help="steps may also name files under DIR (repeatable); without it a file named in "
        "a step must be inside the feature file's folder tree",
    )
    run.add_argument("-q", "--quiet", action="store_true", help="less progress output")
    run.add_argument(
        "-n",
        dest="workers",
        metavar="N",
        help="spread scenarios over N processes ('auto': one per CPU) with pytest-xdist; "
        "one report for the whole run",
    )
    run.add_argument(
        "--shard",
        type=shard,
        metavar="K/N",
        help="run only the K-th of N deterministic slices of the selected scenarios "
        "(one CI job per slice; join their reports with `report merge`)",
    )

    report = sub.add_parser(
        "report",
        help="work with report folders (merge the shards of a CI job matrix)",
        description="Work with the report folders `smime-harness run` writes.",
    )
    report_sub = report.add_subparsers(dest="report_command", metavar="ACTION", parser_class=Parser)
    report_sub.required = True
    merge = add_command(
        report_sub, "merge", cmd_report_merge, help="one report from several runs' report folders"
    )
    merge.add_argument("folders", nargs="+", metavar="DIR", help="report folders of the runs")
    merge.add_argument(
        "--report", required=True, metavar="OUT", help="folder for the merged report"
    )

    steps = add_command(
        sub, "steps", cmd_steps, help="list the step sentences a feature file can use"
    )
    steps.add_argument("--json", action="store_true", help="machine-readable list")

"""benchmarks/bench.py --quick runs end to end, so the script does not rot. No time is asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench.py"


def test_quick_benchmark_runs_and_writes_json(tmp_path: Path, key_pool: object) -> None:
    out = tmp_path / "bench.json"
    default = BENCH.parent.parent / ".cache" / "keys"  # the tests' pool (tests/conftest.py)
    cache = os.environ.get("SMIME_HARNESS_KEY_CACHE") or str(default)
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "SMIME_HARNESS_KEY_CACHE": cache},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    document = json.loads(out.read_text())
    operations = {row["operation"] for row in document["rows"]}
    assert {"sign", "verify (chain)", "encrypt", "decrypt", "sign+encrypt"} <= operations
    assert all(row["engine_ms"] > 0 for row in document["rows"])
    assert document["batch_verify"]["messages"] > 0
    # Every generated scenario passed: a count that reads 0 passed and 0 failed is no result.
    assert document["scenarios"] and all(
        s["failed"] == 0 and s["passed"] == s["scenarios"] for s in document["scenarios"]
    )
    assert "e/floor" in done.stdout

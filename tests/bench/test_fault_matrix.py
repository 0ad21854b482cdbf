"""The fault matrix, CI-sized: a few faults, a few hundred messages each.

Runs ``bench/fault_matrix.py`` as ``make test`` would anyone: its own
PostgreSQL cluster, Redis, three Kafka brokers, two web and two consumer
processes (nothing shared is stopped).  Every fault must lose, duplicate and
reorder nothing; the negative control (consumers that commit before they
store, one killed mid-batch) must be caught losing messages.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

FAULTS = ["consumer-kill", "web-kill", "redis-restart", "negative-control"]


# About three minutes on an idle 2-core machine, most of it starting and
# stopping three brokers; more when the machine is busy.
@pytest.mark.timeout(900)
def test_faults_lose_nothing_and_the_negative_control_is_caught(tmp_path: Path) -> None:
    out = tmp_path / "matrix.json"
    result = subprocess.run(
        [
            sys.executable,
            str(settings.BASE_DIR / "bench" / "fault_matrix.py"),
            "--messages",
            "200",
            "--users",
            "12",
            "--conversations",
            "8",
            "--quiet",
            "15",
            "--faults",
            ",".join(FAULTS),
            "--json",
            str(out),
        ],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=880,
        check=False,
    )
    print(result.stdout[-5000:])
    assert out.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    rows = {row["fault"]: row for row in json.loads(out.read_text())}
    assert list(rows) == FAULTS
    for fault in FAULTS[:-1]:
        row = rows[fault]
        assert row["sent"] == row["acknowledged"] == row["stored"] == row["delivered"] == 200, row
        assert (row["lost"], row["duplicated"], row["reordered"], row["phantom"]) == (0, 0, 0, 0)
    control = rows["negative-control"]
    assert control["lost"] > 0, control
    assert control["passed"]
    assert result.returncode == 0, result.stderr[-3000:]

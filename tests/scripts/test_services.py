"""scripts/services.sh: the KRaft cluster id it formats Kafka's storage with.

kafka-storage takes the id as the value of `--cluster-id`; an id that begins
with "-" is read as an option instead, and formatting fails (this broke a CI
run: 1 random id in 64 begins so).
"""

import base64
import os
import stat
import subprocess
from pathlib import Path

from django.conf import settings

SERVICES = Path(settings.BASE_DIR) / "scripts" / "services.sh"

# A stand-in for `head` whose first 16 "random" bytes encode to an id
# beginning with "-" (0xf8 is 111110.., base64 digit 62), and whose later
# draws are the real thing.
FAKE_HEAD = """#!/usr/bin/env bash
count=$(cat "$0.count" 2>/dev/null || echo 0)
echo $((count + 1)) >"$0.count"
if [[ $count == 0 ]]; then
    printf '\\xf8'; exec /usr/bin/head -c 15 /dev/zero
fi
exec /usr/bin/head "$@"
"""


def cluster_id(path: str) -> str:
    result = subprocess.run(
        [str(SERVICES), "cluster-id"],
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return result.stdout.strip()


def test_a_cluster_id_is_sixteen_bytes_of_url_safe_base64() -> None:
    cid = cluster_id(os.environ["PATH"])

    assert len(base64.urlsafe_b64decode(cid + "==")) == 16
    assert len(cid) == 22


def test_a_cluster_id_that_would_begin_with_a_dash_is_drawn_again(tmp_path: Path) -> None:
    head = tmp_path / "head"
    head.write_text(FAKE_HEAD)
    head.chmod(head.stat().st_mode | stat.S_IXUSR)

    cid = cluster_id(f"{tmp_path}:{os.environ['PATH']}")

    assert (tmp_path / "head.count").read_text().strip() == "2"
    assert not cid.startswith("-")
    assert len(base64.urlsafe_b64decode(cid + "==")) == 16

"""examples/api_client.py against the real web process (daphne) and a real consumer:
sign in, a token, a contact, messages sent over HTTP and received on a token socket,
history and search."""

import subprocess
import sys
from pathlib import Path

from django.conf import settings

from accounts.models import User
from tests.conftest import RunningConsumer
from tests.factories import PASSWORD, UserFactory, make_contacts

SCRIPT = Path(settings.BASE_DIR) / "examples" / "api_client.py"


def test_the_demo_chats_through_the_public_api(daphne: str, consumer: RunningConsumer) -> None:
    alice: User = UserFactory(username="alice")
    make_contacts(alice, UserFactory(username="zoe"))

    run = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--base-url",
            f"http://{daphne}",
            "--username",
            "alice",
            "--password",
            PASSWORD,
            "--contact",
            "zoe",
            "--messages",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "signed in as alice" in out
    assert "socket open" in out
    assert "sent 3 messages (202 accepted)" in out
    assert "received 3 on the socket, sequences [1, 2, 3]" in out
    assert "search for" in out
    assert out.rstrip().endswith("ok")
    assert alice.access_tokens.count() == 1


def test_the_demo_says_why_it_fails(daphne: str) -> None:
    UserFactory(username="alice")

    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--base-url", f"http://{daphne}", "--token", "msgr_nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert run.returncode == 1
    assert "401" in run.stderr
    assert "token" in run.stderr

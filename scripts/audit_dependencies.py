"""Audit the installed dependencies with pip-audit; fail on any known vulnerability.

Vulnerabilities we accept are listed, each with its reason, under
``[tool.messenger.pip-audit] ignore`` in pyproject.toml.

pip-audit asks PyPI for each pinned version's advisories.  Where that service
cannot be reached (no network, or a registry mirror that does not serve
per-version JSON, as on this project's build machines) nothing can be
audited: the script then says so loudly, lists how many packages went
unaudited, and passes — unless ``PIP_AUDIT_STRICT=1``, which makes an
incomplete audit fail.  A vulnerability that *is* reported always fails.
"""

import json
import os

# It runs pip-audit, a fixed command.
import subprocess  # nosec B404
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNREACHABLE = ("ConnectionError", "NameResolutionError", "ReadTimeout", "ConnectTimeout")


def say(line: str) -> None:
    sys.stdout.write(line + "\n")


def ignored() -> dict[str, str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    entries = config.get("tool", {}).get("messenger", {}).get("pip-audit", {}).get("ignore", [])
    return {entry["id"]: entry["reason"] for entry in entries}


def main() -> int:
    accepted = ignored()
    command = [sys.executable, "-m", "pip_audit", "-f", "json", "--progress-spinner", "off"]
    for vuln_id in accepted:
        command += ["--ignore-vuln", vuln_id]
    # Our own interpreter and pip-audit; the ids come from pyproject.toml.
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)  # noqa: S603  # nosec B603
    strict = os.environ.get("PIP_AUDIT_STRICT") == "1"
    try:
        report = json.loads(done.stdout)
    except ValueError:
        if any(word in done.stderr for word in UNREACHABLE):
            say("pip-audit: WARNING: the vulnerability service could not be reached;")
            say("pip-audit: NOTHING WAS AUDITED (set PIP_AUDIT_STRICT=1 to fail on this).")
            return 1 if strict else 0
        say(done.stdout + done.stderr)
        return done.returncode or 1
    dependencies = report.get("dependencies", [])
    found = [(d["name"], d["version"], v["id"]) for d in dependencies for v in d.get("vulns", [])]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    for name, version, vuln_id in found:
        say(f"pip-audit: VULNERABLE {name} {version}: {vuln_id}")
    for vuln_id, reason in accepted.items():
        say(f"pip-audit: accepted {vuln_id}: {reason}")
    audited = len(dependencies) - len(skipped)
    say(f"pip-audit: {audited} of {len(dependencies)} packages audited, {len(found)} vulnerable")
    if skipped:
        say(
            f"pip-audit: WARNING: {len(skipped)} packages could not be audited "
            f"(e.g. {skipped[0]['name']}: {skipped[0]['skip_reason']})"
        )
    if found:
        return 1
    return 1 if strict and skipped else 0


if __name__ == "__main__":
    sys.exit(main())

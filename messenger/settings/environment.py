"""Read typed configuration values from environment variables."""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    """Return the variable as a string, or the default when unset."""
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    """Return the variable as a boolean; reject values that are not clearly one."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    """Return the variable as an integer."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    """Return a comma-separated variable as a list of non-empty items."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_oauth_client(prefix: str) -> dict[str, str] | None:
    """Return ``{"client_id", "secret"}`` from PREFIX_CLIENT_ID and PREFIX_CLIENT_SECRET.

    None when neither is set (the provider is off); half a pair is a mistake.
    """
    client_id = os.environ.get(f"{prefix}_CLIENT_ID", "").strip()
    secret = os.environ.get(f"{prefix}_CLIENT_SECRET", "").strip()
    if not client_id and not secret:
        return None
    if not client_id or not secret:
        raise ImproperlyConfigured(
            f"Set both {prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET, or neither"
        )
    return {"client_id": client_id, "secret": secret}

"""Typed readers for environment variables.

Every reader fails loudly at start-up with the variable's name in the message,
so a typo in a deployment never turns into a silently wrong default.
"""

import os
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str:
    value = _raw(name)
    if value is None or value == "":
        if required or default is None:
            raise ImproperlyConfigured(f"{name}: this environment variable must be set")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}: expected a boolean (1/0, true/false, yes/no, on/off), got {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected a whole number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}: must be at least {minimum}, got {number}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name: str, default: str) -> str:
    """An absolute http(s) URL without a trailing slash (it is joined with paths)."""
    value = _raw(name) or default
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ImproperlyConfigured(f"{name}: expected an absolute http:// or https:// URL, got {value!r}")
    if parts.query or parts.fragment:
        raise ImproperlyConfigured(f"{name}: must not carry a query string or fragment, got {value!r}")
    return value.rstrip("/")


def env_database(name: str, default: str) -> dict:
    value = _raw(name) or default
    scheme = urlsplit(value).scheme
    if scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(
            f"{name}: unsupported database URL scheme {scheme!r}; use sqlite:///path or postgres://user@host/db"
        )
    try:
        config = dj_database_url.parse(value, conn_max_age=0)
    except Exception as exc:  # the parser raises several types; all mean "bad value"
        raise ImproperlyConfigured(f"{name}: cannot parse database URL: {exc}") from None
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name}: the database URL names no database")
    return config

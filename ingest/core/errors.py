"""The error tree every Concord package raises from.

    ConcordError
    ├── ConfigError          bad settings file, unknown option, unreachable database URL
    ├── StoreError           the store cannot be opened, migrated or written
    ├── NotFoundError        an unknown DAO, proposal, post or report
    └── InputError           a payload or argument that cannot be understood

Messages say what was expected, what was found and how to fix it. Libraries raise; only
interfaces (the CLI, the bot, the dashboard) turn these into user-facing replies.
"""

from __future__ import annotations

__all__ = ["ConcordError", "ConfigError", "InputError", "NotFoundError", "StoreError"]


class ConcordError(Exception):
    """Base of every error Concord raises on purpose."""


class ConfigError(ConcordError, ValueError):
    """Settings are missing, malformed or point at something that does not answer."""


class StoreError(ConcordError, RuntimeError):
    """The store could not be opened, migrated or written."""


class NotFoundError(ConcordError, LookupError):
    """Something named by the user does not exist in the store."""


class InputError(ConcordError, ValueError):
    """A payload or argument could not be understood."""

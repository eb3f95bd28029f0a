"""The exception tree of DistillGuard.

    DistillGuardError
    ├── ConfigError          a configuration or policy file is invalid
    │   └── ProfileError     a policy profile is invalid (unknown key, bad value)
    └── IngestError          an input cannot be read at all (missing file, unknown format)

Bad *records* never raise: they are counted and kept in the rejects table with a
reason. Errors of dependencies are translated at the boundary
(``raise IngestError(...) from exc``).
"""


class DistillGuardError(Exception):
    """Base class of every error DistillGuard raises on purpose."""


class ConfigError(DistillGuardError):
    """A configuration file is invalid."""


class ProfileError(ConfigError):
    """A policy profile is invalid."""


class IngestError(DistillGuardError):
    """An input source cannot be read at all."""

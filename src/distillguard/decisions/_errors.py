"""Errors of the decisions stage; they sit under ``DistillGuardError``:

DistillGuardError
├── StoreError          the decision database cannot be reached or used
│   └── ConflictError   it refused a change (a decision with that id exists)
└── StreamError         a decision service refused or failed a stream pull
"""

from __future__ import annotations

from distillguard._exceptions import DistillGuardError


class StoreError(DistillGuardError):
    """The decision database cannot be reached or used."""


class ConflictError(StoreError):
    """The decision database refused a change that conflicts with what it holds."""


class StreamError(DistillGuardError):
    """A decision service refused or failed a stream pull."""

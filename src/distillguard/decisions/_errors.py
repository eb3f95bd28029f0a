"""Errors of the decisions stage; they sit under ``DistillGuardError``:

DistillGuardError
├── StoreError          the decision database cannot be reached or used
└── StreamError         a decision service refused or failed a stream pull
"""

from __future__ import annotations

from distillguard._exceptions import DistillGuardError


class StoreError(DistillGuardError):
    """The decision database cannot be reached or used."""


class StreamError(DistillGuardError):
    """A decision service refused or failed a stream pull."""

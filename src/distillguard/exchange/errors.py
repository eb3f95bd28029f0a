"""Errors of the exchange, under the package's exception tree.

DistillGuardError
└── ExchangeError          an exchange operation failed
    ├── SignatureError     a publication is unsigned, forged or tampered
    └── PeerError          a peer cannot be reached or answered badly
"""

from __future__ import annotations

from distillguard._exceptions import DistillGuardError


class ExchangeError(DistillGuardError):
    """An exchange operation failed."""


class SignatureError(ExchangeError):
    """A publication's signature is missing, forged or does not cover it."""


class PeerError(ExchangeError):
    """A peer cannot be reached or answered with something unusable."""

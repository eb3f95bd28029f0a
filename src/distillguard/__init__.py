"""DistillGuard: detect and stop adversarial distillation in LLM API traffic."""

from distillguard._exceptions import (
    ConfigError,
    DistillGuardError,
    IngestError,
    ProfileError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DistillGuardError",
    "IngestError",
    "ProfileError",
    "__version__",
]

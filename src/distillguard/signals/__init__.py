"""Per-prompt text signals: fingerprints, near-duplicate clusters, wrappers,
reasoning elicitation, capability area and language.

The engine calls ``analyze_prompts`` on the distinct prompts of each step and
feeds the result to ``FingerprintIndex`` and ``WrapperIndex``. The function
``elicitation`` is not re-exported here: it would hide its own module,
``distillguard.signals.elicitation``.
"""

from distillguard.signals.capability import AREAS, LANGS, capability_area, language
from distillguard.signals.elicitation import KINDS
from distillguard.signals.text import (
    NUM_BANDS,
    NUM_PERM,
    SIGNAL_SCHEMA,
    FingerprintIndex,
    analyze_prompts,
    normalize,
)
from distillguard.signals.wrappers import WrapperIndex

__all__ = [
    "AREAS",
    "KINDS",
    "LANGS",
    "NUM_BANDS",
    "NUM_PERM",
    "SIGNAL_SCHEMA",
    "FingerprintIndex",
    "WrapperIndex",
    "analyze_prompts",
    "capability_area",
    "language",
    "normalize",
]

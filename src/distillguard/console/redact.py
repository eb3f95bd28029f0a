"""Removing prompt text from what detection wrote about it.

Reasons, campaign signals and finding evidence quote prompts ("…wrap their
prompts in one template: "Solve step by step…""). Roles that may not read
prompts see those quotes replaced, and retention replaces them for good.
Fingerprints, counts and the rest of each sentence stay.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["HIDDEN", "TEXT_KEYS", "redact", "redact_evidence"]

HIDDEN = "[prompt text hidden]"
#: Evidence keys whose values are prompt text.
TEXT_KEYS = frozenset(
    {"example", "template", "text", "prompt", "sample", "samples", "wrapper_text"}
)
_QUOTED = re.compile(r"\"[^\"]*(?:\"|$)|“[^”]*(?:”|$)")


def redact(text: str) -> str:
    """``text`` with every quoted span (straight or curly quotes, closed or
    cut off at the end) replaced by :data:`HIDDEN`."""
    return _QUOTED.sub(f'"{HIDDEN}"', text)


def redact_evidence(evidence: Any) -> Any:
    """Evidence with prompt-text values hidden and quotes in strings redacted."""
    if isinstance(evidence, dict):
        return {
            k: HIDDEN if k in TEXT_KEYS and v is not None else redact_evidence(v)
            for k, v in evidence.items()
        }
    if isinstance(evidence, list):
        return [redact_evidence(v) for v in evidence]
    if isinstance(evidence, str):
        return redact(evidence)
    return evidence

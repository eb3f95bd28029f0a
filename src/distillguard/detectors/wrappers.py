"""Shared wrappers: the same prompt template around varying content, across
accounts."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, ClassVar

from distillguard._types import Family
from distillguard.detectors._util import key_groups
from distillguard.detectors.base import Detector, Finding
from distillguard.engine.prompts import OPENING_ASKS
from distillguard.signals.elicitation import elicitation

if TYPE_CHECKING:
    from distillguard.engine.state import DetectionContext

#: Elicitation score of each template text scored so far, kept across
#: detection runs: a wrapper's text does not change, and scoring the texts
#: again at every run was most of this detector's cost. Cleared when full.
_ELICITATION: dict[str, float] = {}
_ELICITATION_MAX = 100_000


def _elicitation(texts: list[str]) -> list[float]:
    """``elicitation`` scores of ``texts``, each text scored once. The
    answer is read from a local copy, so a run on another thread clearing
    the cache meanwhile does not affect it."""
    known = {t: _ELICITATION.get(t) for t in dict.fromkeys(texts)}
    todo = [t for t, score in known.items() if score is None]
    if todo:
        fresh = dict(zip(todo, elicitation(todo)[0].tolist(), strict=True))
        known.update(fresh)
        if len(_ELICITATION) + len(fresh) > _ELICITATION_MAX:
            _ELICITATION.clear()
        _ELICITATION.update(fresh)
    return [float(known[t] or 0.0) for t in texts]


class SharedWrapperDetector(Detector):
    """One group finding per wrapper, per system instruction and per
    conversation opening, used by several accounts and by less than
    ``max_share`` of all accounts. All three are the fixed text around an
    operation's varying tasks: a template in the prompt, the instruction sent
    with every prompt, or the earlier turn every conversation starts with
    (a priming turn, a worked example). One that itself coerces reasoning
    scores higher than an ordinary one; an opening that does not is left to
    prompt reuse."""

    name: ClassVar[str] = "shared_wrapper"
    family: ClassVar[Family] = Family.CONTENT

    def __init__(self, max_share: float = 0.5) -> None:
        self.max_share = max_share

    def detect(self, ctx: DetectionContext) -> list[Finding]:
        cap = max(10, int(self.max_share * ctx.n_accounts))
        out: list[Finding] = []
        for family, what, describe, least in (
            ("wrapper", "wrap their prompts in one template", ctx.prompts.wrappers.describe, 0.0),
            ("system", "send one system instruction", ctx.prompts.system.describe, 0.0),
            # An ordinary first turn two accounts share (a homework problem,
            # a popular question) is a shared prompt, which prompt reuse
            # reads with its own discounts; an opening is read as a template
            # only where it asks for the reasoning itself (only such are
            # keyed; its frame is checked again here).
            (
                "opening",
                "open their conversations alike",
                ctx.prompts.earlier.describe,
                OPENING_ASKS,
            ),
        ):
            groups = key_groups(ctx, family, 2, cap)
            if not groups:
                continue
            texts = [describe(int(key)) for key, _, _ in groups]
            elicit = _elicitation(texts)
            for (key, accounts, n), text, e in zip(groups, texts, elicit, strict=True):
                if e < least:
                    continue
                # A template many unrelated accounts use ("Let's think step
                # by step.", a framework's default instruction) says little
                # about who works together.
                specificity = 1.0 / (1.0 + math.log10(max(len(accounts) / 10.0, 1.0)))
                score = (0.45 + 0.4 * float(e)) * specificity
                out.append(
                    Finding(
                        self.name,
                        self.family,
                        accounts,
                        round(score, 4),
                        f'{len(accounts)} accounts {what}: "{text[:120]}"',
                        {
                            family: key,
                            "template": text[:500],
                            "accounts": len(accounts),
                            "requests": int(n),
                            "elicitation": float(e),
                        },
                        link=f"{family}:{key}",
                    )
                )
        return out

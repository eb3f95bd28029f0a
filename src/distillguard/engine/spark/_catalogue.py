"""What detectors read about prompts, collected from Spark to the driver.

On the embedded engine ``DetectionContext.prompts`` is the whole prompt
cache. Detectors use two things of it: a sample text per normalised prompt
(``sample``, for a reuse finding's example) and a wrapper's template
(``wrappers.describe``), and a system instruction's frame
(``system.describe``). On Spark only those the detectors can cite are
brought back: prompts and clusters, wrappers and system instructions, used
by two accounts or more (a group finding needs two).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from distillguard.engine.prompts import SYSTEM_SAMPLE, PromptCache, instruction_frames, opening
from distillguard.signals.wrappers import WrapperIndex

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


class _Templates(WrapperIndex):
    """A wrapper index that only describes: templates computed elsewhere."""

    def __init__(self, templates: dict[int, str]) -> None:
        super().__init__()
        self._templates = templates

    def describe(self, wrapper_id: int) -> str:
        return self._templates.get(int(wrapper_id), "")


class PromptCatalogue(PromptCache):
    """A ``PromptCache`` holding only samples and templates (no index: the
    Spark engine assigns clusters and wrappers itself)."""

    def __init__(
        self,
        samples: dict[int, str],
        templates: dict[int, str],
        systems: dict[int, str],
        openings: dict[int, str],
    ) -> None:
        super().__init__()
        self.samples = samples
        self.wrappers = _Templates(templates)
        self.system.texts = systems
        self.earlier.openings.texts = openings


def collect_catalogue(
    by_norm: DataFrame, key_pop: DataFrame, system: DataFrame, earlier: DataFrame
) -> PromptCatalogue:
    """Samples of shared prompts and clusters, templates of shared wrappers,
    frames of shared system instructions (``system``: ``system_signals``)
    and of shared conversation openings (``earlier``: ``earlier_signals``)."""
    from pyspark.sql import functions as F

    shared = key_pop.where("n_accounts >= 2")
    cited = shared.where(F.col("family").isin("prompt", "cluster")).select(
        F.col("key").alias("norm_key")
    )
    rows = by_norm.join(cited.distinct(), "norm_key").select("norm_key", "sample").collect()
    samples = {int(k): s for k, s in rows if s is not None}
    wrappers = shared.where("family = 'wrapper'").select(F.col("key").alias("wrapper"))
    described = (
        by_norm.where(F.col("template").isNotNull())
        .join(wrappers, "wrapper")
        .select("wrapper", "norm_key", "template")
        .collect()
    )
    templates: dict[int, tuple[int, str]] = {}
    for wrapper, norm_key, template in described:
        w, h = int(wrapper), int(norm_key)
        # The embedded index describes a wrapper from the prompt with the
        # smallest normalised hash among the first batch that has it.
        if w not in templates or h < templates[w][0]:
            templates[w] = (h, template)
    systems = _frames(shared, "system", system, "system_key", "system_prompt", lambda t: t)
    openings = _frames(shared, "opening", earlier, "opening_key", "earlier_prompts", opening)
    return PromptCatalogue(samples, {w: t for w, (_, t) in templates.items()}, systems, openings)


def _frames(
    shared: DataFrame,
    family: str,
    signals: DataFrame,
    key: str,
    column: str,
    part: Callable[[str], str],
) -> dict[int, str]:
    """The frame of ``part`` of one text of each shared key of ``family``
    (``signals``: texts in ``column``, their keys in ``key``). The texts of
    one key differ only in what varies per request, so their frame is the same."""
    from pyspark.sql import functions as F

    keys = shared.where(F.col("family") == family).select(F.col("key").alias(key))
    texts = signals.join(keys, key).groupBy(key).agg(F.min(column).alias(column)).collect()
    frames = instruction_frames([part(t) for _, t in texts])
    return {int(k): f[:SYSTEM_SAMPLE] for (k, _), f in zip(texts, frames, strict=True)}

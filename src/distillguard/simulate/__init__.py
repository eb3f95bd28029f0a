"""Labelled API traffic over real prompt corpora.

    >>> from distillguard.simulate import SimConfig, generate
    >>> sim = generate(SimConfig.demo(n_events=20_000))
    >>> sim.events.num_rows > 15_000
    True

``generate`` returns events (the raw request records of ``EVENT_SCHEMA.md``),
the account side table, labels and a manifest; ``write`` puts them on disk.
"""

from distillguard.simulate._catalog import ATTACK_STYLES, BENIGN, POPULATIONS, PopulationInfo
from distillguard.simulate._config import SimConfig
from distillguard.simulate._generate import SimResult, generate
from distillguard.simulate._write import SimFiles, write

__all__ = [
    "ATTACK_STYLES",
    "BENIGN",
    "POPULATIONS",
    "PopulationInfo",
    "SimConfig",
    "SimFiles",
    "SimResult",
    "generate",
    "write",
]

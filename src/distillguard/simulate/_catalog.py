"""The populations the simulator knows: name, label and default share of traffic.

Names are stable: they are written to ``labels.csv`` and the manifest and are
the keys of :attr:`SimConfig.scale`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PopulationInfo:
    name: str
    malicious: bool
    hard_negative: bool
    share: float  # default share of all requests
    campaigns: int = 0  # default number of campaigns (attack styles only)
    doc: str = ""


_ROWS = [
    PopulationInfo("chat_user", False, False, 0.165, doc="consumer chat apps, browsers, homes"),
    PopulationInfo("developer", False, False, 0.08, doc="SDK users building and debugging"),
    PopulationInfo("multilingual_user", False, False, 0.03, doc="zh/es/de/fr/ja/ru everyday use"),
    PopulationInfo(
        "multilingual_student",
        False,
        True,
        0.015,
        doc="students asking for step-by-step explanations in their own language",
    ),
    PopulationInfo("eval_company", False, True, 0.09, doc="public benchmarks, CoT wrappers"),
    PopulationInfo("enterprise_batch", False, True, 0.12, doc="templated batch jobs, 24/7"),
    PopulationInfo("classroom", False, True, 0.01, doc="one NAT, same homework problems"),
    PopulationInfo("viral_prompt", False, True, 0.015, doc="one prompt, many strangers"),
    PopulationInfo("router", False, True, 0.10, doc="resellers: many end users behind a key"),
    PopulationInfo("cloud_app", False, True, 0.09, doc="SaaS apps calling from data centres"),
    PopulationInfo("research_partner", False, True, 0.02, doc="verified research tier"),
    PopulationInfo("bulk_script", True, False, 0.04, 2, "few accounts, huge volume"),
    PopulationInfo("proxy_swarm", True, False, 0.08, 2, "many accounts behind rotating proxies"),
    PopulationInfo("paraphrase", True, False, 0.03, 1, "per-account wrappers and rewording"),
    PopulationInfo("low_and_slow", True, False, 0.025, 1, "human-rate accounts over days"),
    PopulationInfo(
        "multilingual_coercion", True, False, 0.03, 1, "full reasoning demanded in 9 languages"
    ),
    PopulationInfo(
        "system_coercion", True, False, 0.02, 1, "full reasoning demanded in the system prompt"
    ),
    PopulationInfo(
        "priming_coercion", True, False, 0.02, 1, "full reasoning demanded in an earlier turn"
    ),
    PopulationInfo("model_pivot", True, False, 0.025, 1, "moves to the new model within 24 h"),
    PopulationInfo("rubric_grading", True, False, 0.015, 1, "reward-model style grading prompts"),
]

POPULATIONS: dict[str, PopulationInfo] = {p.name: p for p in _ROWS}
ATTACK_STYLES: tuple[str, ...] = tuple(p.name for p in _ROWS if p.malicious)
BENIGN: tuple[str, ...] = tuple(p.name for p in _ROWS if not p.malicious)

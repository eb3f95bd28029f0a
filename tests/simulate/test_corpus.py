"""The embedded prompt subset: only permissive licences, documented, small."""

from __future__ import annotations

import gzip
import json
from importlib import resources

FILES = ("benign_chat", "harvest_tasks", "app_batch")
#: Datasets whose stated licence is MIT, Apache-2.0 or CC0 without non-commercial terms.
ALLOWED = {
    "arena_hard",
    "mt_bench",
    "vicuna_bench",
    "koala",
    "selfinstruct_user_oriented",
    "oasst_prompt_lottery",
    "oasst_eval",
    "oasst_seed",
    "awesome_chatgpt_prompts",
    "hh_harmless_base",
    "hh_red_team_attempts",
    "gsm8k",
    "MATH",
    "aime24",
    "amc23",
    "olympiadbench",
    "gaokao2023en",
    "svamp",
    "aqua",
    "humaneval",
    "ifeval",
    "self_instruct",
    "goemotions_reddit",
    "cnn_dailymail",
    "amazon_polarity",
    "duorc",
}


def test_embedded_datasets_are_permissive() -> None:
    data = resources.files("distillguard.simulate") / "data"
    seen: set[str] = set()
    total = 0
    for name in FILES:
        raw = (data / f"{name}.jsonl.gz").read_bytes()
        total += len(raw)
        for line in gzip.decompress(raw).splitlines():
            rec = json.loads(line)
            assert set(rec) == {"text", "source", "kind"}
            seen.add(rec["kind"].split(":", 1)[1].split("/", 1)[0])
    assert seen <= ALLOWED, seen - ALLOWED
    assert total < 4_000_000
    attribution = (data / "ATTRIBUTION.md").read_text(encoding="utf-8")
    for dataset in seen:
        assert f"| {dataset} |" in attribution

#!/usr/bin/env python3
"""Build the prompt subset shipped inside ``distillguard.simulate``.

Reads the full corpora (``benign_chat.jsonl``, ``harvest_tasks.jsonl``,
``app_batch.jsonl``, records ``{text, source, kind}``) and keeps only the
datasets whose stated licence is MIT, Apache-2.0 or CC0 with no
non-commercial caveat, then writes ``src/distillguard/simulate/data/*.jsonl.gz``
and ``ATTRIBUTION.md`` beside them. Output is deterministic for a given input.

    python scripts/build_embedded_corpus.py /path/to/corpora
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "distillguard" / "simulate" / "data"

#: Longest text kept in the shipped subset (a few role prompts run to many KB).
MAX_CHARS = 6000


@dataclass(frozen=True)
class Source:
    file: str
    dataset: str
    repo: str
    path: str
    commit: str
    licence: str
    note: str = ""


SELF_INSTRUCT = "0b26ccaa415992100fa32df62d41b994cf928e23"
FASTCHAT = "0e6d3e4beaab66f4d3f93db72541a4abab8af28d"
OASST = "f1e6ed9526f5817531f3ab85441a40b3671ddccb"
QWEN = "a45202bd16f1ec06f433442dc1152d0074773465"
GOOGLE = "d76be322625d4401655660f0f02681f96eb6783a"
T0 = "data/finetuning/t0_train_50k/data_per_template/"
QWEN_LIC = "MIT (evaluation/LICENSE)"

SOURCES = [
    Source(
        "benign_chat",
        "arena_hard",
        "lm-sys/arena-hard-auto",
        "data/arena-hard-v0.1/question.jsonl",
        "efc012e192b88024a5203f5a28ec8fc0342946df",
        "Apache-2.0",
    ),
    Source(
        "benign_chat",
        "mt_bench",
        "lm-sys/FastChat",
        "fastchat/llm_judge/data/mt_bench/question.jsonl",
        FASTCHAT,
        "Apache-2.0",
        "first turns only",
    ),
    Source(
        "benign_chat",
        "vicuna_bench",
        "lm-sys/FastChat",
        "fastchat/llm_judge/data/vicuna_bench/question.jsonl",
        FASTCHAT,
        "Apache-2.0",
    ),
    Source(
        "benign_chat",
        "koala",
        "arnav-gudibande/koala-test-set",
        "koala_test_set.jsonl",
        "2d4396aee3cff495382e9b0ad2521d70b177763b",
        "Apache-2.0",
    ),
    Source(
        "benign_chat",
        "selfinstruct_user_oriented",
        "yizhongw/self-instruct",
        "human_eval/user_oriented_instructions.jsonl",
        SELF_INSTRUCT,
        "Apache-2.0",
    ),
    Source(
        "benign_chat",
        "oasst_prompt_lottery",
        "LAION-AI/Open-Assistant",
        "model/model_eval/manual/data/prompt_lottery_en_250_text.jsonl",
        OASST,
        "Apache-2.0",
    ),
    Source(
        "benign_chat",
        "oasst_eval",
        "LAION-AI/Open-Assistant",
        "model/model_eval/manual/data/en_100_text.jsonl",
        OASST,
        "Apache-2.0",
    ),
    Source(
        "benign_chat",
        "oasst_seed",
        "LAION-AI/Open-Assistant",
        "backend/test_data/realistic/realistic_seed_data.json",
        OASST,
        "Apache-2.0",
    ),
    Source(
        "benign_chat",
        "awesome_chatgpt_prompts",
        "f/awesome-chatgpt-prompts",
        "prompts.csv",
        "50a97c072933c93c76cc0714e9dd4c4cf1d80ae7",
        "CC0-1.0",
    ),
    Source(
        "benign_chat",
        "hh_harmless_base",
        "anthropics/hh-rlhf",
        "harmless-base/test.jsonl.gz",
        "354e5c3cb8960630860dd5774a6ac2a58313bf4d",
        "MIT",
        "first human turn; red-team requests, many harm-seeking",
    ),
    Source(
        "benign_chat",
        "hh_red_team_attempts",
        "Re-Align/just-eval",
        "leaderboard/outputs/gpt-4-0613.to_eval.json",
        "3e1a1265e210be1d6ad71624c91da3efc36493ca",
        "MIT (repo); items from anthropics/hh-rlhf red-team-attempts (MIT)",
        "instructions only, model outputs dropped",
    ),
    Source(
        "harvest_tasks",
        "gsm8k",
        "openai/grade-school-math",
        "grade_school_math/data/{train,test}.jsonl",
        "3101c7d5072418e28b9008a6636bde82a006892c",
        "MIT",
        "questions only",
    ),
    Source(
        "harvest_tasks",
        "MATH",
        "deepseek-ai/DeepSeek-Coder",
        "Evaluation/PAL-Math/datasets/math/test.json",
        "2f9fd85927c669dae3c0fbb2d607274023af243e",
        "MIT (repo LICENSE-CODE); upstream hendrycks/math MIT",
        "problems only",
    ),
    Source(
        "harvest_tasks",
        "aime24",
        "QwenLM/Qwen2.5-Math",
        "evaluation/data/aime24/test.jsonl",
        QWEN,
        QWEN_LIC,
        "questions only",
    ),
    Source(
        "harvest_tasks",
        "amc23",
        "QwenLM/Qwen2.5-Math",
        "evaluation/data/amc23/test.jsonl",
        QWEN,
        QWEN_LIC,
        "questions only",
    ),
    Source(
        "harvest_tasks",
        "olympiadbench",
        "QwenLM/Qwen2.5-Math",
        "evaluation/data/olympiadbench/test.jsonl",
        QWEN,
        QWEN_LIC,
        "questions only",
    ),
    Source(
        "harvest_tasks",
        "gaokao2023en",
        "QwenLM/Qwen2.5-Math",
        "evaluation/data/gaokao2023en/test.jsonl",
        QWEN,
        QWEN_LIC,
        "questions only",
    ),
    Source(
        "harvest_tasks",
        "svamp",
        "QwenLM/Qwen2.5-Math",
        "evaluation/data/svamp/test.jsonl",
        QWEN,
        QWEN_LIC + "; SVAMP MIT",
        "body and question joined",
    ),
    Source(
        "harvest_tasks",
        "aqua",
        "QwenLM/Qwen2.5-Math",
        "evaluation/data/aqua/test.jsonl",
        QWEN,
        QWEN_LIC + "; AQuA Apache-2.0",
        "question and options",
    ),
    Source(
        "harvest_tasks",
        "humaneval",
        "openai/human-eval",
        "data/HumanEval.jsonl.gz",
        "6d43fb980f9fee3c892a914eda09951f772ad10d",
        "MIT",
        "prompt stubs only",
    ),
    Source(
        "harvest_tasks",
        "ifeval",
        "google-research/google-research",
        "instruction_following_eval/data/input_data.jsonl",
        GOOGLE,
        "Apache-2.0",
    ),
    Source(
        "harvest_tasks",
        "self_instruct",
        "yizhongw/self-instruct",
        "data/seed_tasks.jsonl",
        SELF_INSTRUCT,
        "Apache-2.0",
        "instruction and first instance input",
    ),
    Source(
        "app_batch",
        "goemotions_reddit",
        "google-research/google-research",
        "goemotions/data/test.tsv",
        GOOGLE,
        "Apache-2.0 (repo); no data-specific licence stated",
        "raw comments, labels dropped",
    ),
    Source(
        "app_batch",
        "cnn_dailymail",
        "yizhongw/self-instruct",
        T0 + "cnn_dailymail_3_0_0_*",
        SELF_INSTRUCT,
        "Apache-2.0 (repo); CNN/DailyMail commonly cited Apache-2.0",
        "T0/P3 templated prompts",
    ),
    Source(
        "app_batch",
        "amazon_polarity",
        "yizhongw/self-instruct",
        T0 + "amazon_polarity_*",
        SELF_INSTRUCT,
        "Apache-2.0 (repo); Amazon polarity commonly cited Apache-2.0",
        "T0/P3 templated prompts",
    ),
    Source(
        "app_batch",
        "duorc",
        "yizhongw/self-instruct",
        T0 + "duorc_*",
        SELF_INSTRUCT,
        "Apache-2.0 (repo); DuoRC MIT",
        "T0/P3 templated prompts",
    ),
]

#: Datasets of the full corpora deliberately left out, with the reason.
EXCLUDED = {
    "sharegpt": "no licence stated for the scraped conversations",
    "nq_open": "CC-BY-SA-3.0",
    "wizardlm_testset": "CC-BY-NC-4.0",
    "alpaca_eval": "eval set reportedly CC-BY-NC-4.0",
    "codealpaca": "CC-BY-NC-4.0",
    "alpaca": "CC-BY-NC-4.0 upstream",
    "college_math": "items carry CC BY 3.0",
    "minerva_math": "problems come from MIT OpenCourseWare (CC BY-NC-SA)",
    "mbpp": "commonly cited CC-BY-4.0",
    "frmt_wikipedia": "CC-BY-SA-3.0",
    "c4": "ODC-BY",
    "xsum, ag_news, imdb, rotten_tomatoes, app_reviews, trec, mrpc": "no permissive licence",
    "dbpedia_14, adversarial_qa": "CC-BY-SA-3.0",
    "quoref": "CC-BY-4.0",
}


def dataset_of(kind: str) -> str:
    return kind.split(":", 1)[1].split("/", 1)[0]


def build(corpora: Path) -> dict[str, Counter[str]]:
    OUT.mkdir(parents=True, exist_ok=True)
    allowed: dict[str, set[str]] = {}
    for s in SOURCES:
        allowed.setdefault(s.file, set()).add(s.dataset)
    counts: dict[str, Counter[str]] = {}
    for name, datasets in allowed.items():
        kept: list[bytes] = []
        count: Counter[str] = Counter()
        with (corpora / f"{name}.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                ds = dataset_of(rec["kind"])
                if ds in datasets and len(rec["text"]) <= MAX_CHARS:
                    kept.append(json.dumps(rec, ensure_ascii=False).encode() + b"\n")
                    count[ds] += 1
        # mtime=0 keeps the archive byte-identical between builds.
        with gzip.GzipFile(OUT / f"{name}.jsonl.gz", "wb", compresslevel=9, mtime=0) as gz:
            gz.write(b"".join(kept))
        counts[name] = count
    return counts


def attribution(counts: dict[str, Counter[str]]) -> str:
    lines = [
        "# Attribution of the embedded prompt subset",
        "",
        "The files in this folder hold prompt texts only (answers, solutions and labels",
        "were dropped upstream), taken from public repositories whose stated licence is",
        "MIT, Apache-2.0 or CC0 without non-commercial terms. They are built by",
        "`scripts/build_embedded_corpus.py` from the full corpora. Records are",
        '`{"text", "source": "owner/repo:path", "kind": "<type>:<dataset>[/<subset>]"}`;',
        f"texts longer than {MAX_CHARS} characters are left out.",
        "",
        "| file | dataset | records | repository | path | commit | licence (as stated) | notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in SOURCES:
        n = counts.get(s.file, Counter())[s.dataset]
        lines.append(
            f"| {s.file}.jsonl.gz | {s.dataset} | {n} | {s.repo} | `{s.path}` | `{s.commit[:12]}` "
            f"| {s.licence} | {s.note} |"
        )
    lines += ["", "Full commits:", ""]
    for repo, commit in sorted({(s.repo, s.commit) for s in SOURCES}):
        lines.append(f"- {repo} @ {commit}")
    lines += [
        "",
        "google-research/google-research files were read from the fork",
        "ShotaSato0916/google-research-IFEval, whose data files are identical to upstream.",
        "",
        "Caveats: AIME and AMC problems are competition problems redistributed under the",
        "stated MIT licence of the Qwen2.5-Math evaluation folder; the CNN/DailyMail,",
        "Amazon polarity and DuoRC rows rely on the licences commonly cited for those",
        "datasets, not on a licence file in the repository they were read from.",
        "",
        "Left out of the embedded subset (available with `--corpora`):",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in EXCLUDED.items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpora", type=Path, help="folder with the three full corpus files")
    args = ap.parse_args()
    counts = build(args.corpora)
    (OUT / "ATTRIBUTION.md").write_text(attribution(counts), encoding="utf-8")
    for name, c in counts.items():
        size = (OUT / f"{name}.jsonl.gz").stat().st_size
        print(f"{name}: {sum(c.values())} records, {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()

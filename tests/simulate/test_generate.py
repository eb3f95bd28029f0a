from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import distillguard.simulate as simulate
from distillguard.events.schema import ACCOUNT_SCHEMA, LABEL_SCHEMA
from distillguard.simulate import ATTACK_STYLES, POPULATIONS, SimConfig, SimResult, generate


def test_public_names() -> None:
    assert set(simulate.__all__) == {
        "ATTACK_STYLES",
        "BENIGN",
        "POPULATIONS",
        "PopulationInfo",
        "SimConfig",
        "SimFiles",
        "SimResult",
        "generate",
        "write",
    }


def test_same_seed_same_traffic(small: SimResult) -> None:
    cfg = SimConfig.model_validate(small.manifest["config"])  # the manifest replays the run
    again = generate(cfg)
    assert again.events.equals(small.events)
    assert again.accounts.equals(small.accounts)
    assert again.labels.equals(small.labels)
    other = generate(cfg.model_copy(update={"seed": 4}))
    assert not other.events.column("request_id").equals(small.events.column("request_id"))


def test_scaling_one_population_leaves_the_others_alone(small: SimResult) -> None:
    cfg = SimConfig.model_validate(small.manifest["config"])
    more = generate(cfg.model_copy(update={"scale": {"router": 2.0}}))
    before = {p["population"]: p for p in small.manifest["populations"]}
    after = {p["population"]: p for p in more.manifest["populations"]}
    assert after["router"]["requests"] == 2 * before["router"]["requests"]
    for name in ("chat_user", "proxy_swarm", "classroom"):
        assert after[name]["accounts"] == before[name]["accounts"]
        assert after[name]["requests"] == before[name]["requests"]


def test_every_population_and_attack_style_in_demo(demo: SimResult) -> None:
    pops = {p["population"]: p for p in demo.manifest["populations"]}
    assert set(pops) == set(POPULATIONS)
    for name, info in POPULATIONS.items():
        assert pops[name]["accounts"] > 0 and pops[name]["requests"] > 0
        assert pops[name]["malicious"] is info.malicious
        assert bool(pops[name]["campaigns"]) is info.malicious
    styles = {c["style"] for c in demo.manifest["campaigns"]}
    assert styles == set(ATTACK_STYLES)
    assert sum(p["requests"] for p in pops.values()) == demo.events.num_rows
    assert 3_000 <= demo.accounts.num_rows <= 10_000
    assert 120_000 <= demo.events.num_rows <= 200_000


def test_manifest_counts_match_labels(demo: SimResult) -> None:
    labels = demo.labels.to_pylist()
    per_campaign: dict[str, int] = {}
    for row in labels:
        if row["campaign"]:
            per_campaign[row["campaign"]] = per_campaign.get(row["campaign"], 0) + 1
    assert {c["campaign"]: c["accounts"] for c in demo.manifest["campaigns"]} == per_campaign
    requests = pc.value_counts(demo.events.column("account_id").combine_chunks()).to_pylist()
    by_account = {r["values"]: r["counts"] for r in requests}
    for c in demo.manifest["campaigns"]:
        members = [r["account_id"] for r in labels if r["campaign"] == c["campaign"]]
        assert sum(by_account[a] for a in members) == c["requests"]


def test_accounts_labels_and_events_agree(demo: SimResult) -> None:
    assert demo.accounts.schema.equals(ACCOUNT_SCHEMA)
    assert demo.labels.schema.equals(LABEL_SCHEMA)
    in_events = set(pc.unique(demo.events.column("account_id")).to_pylist())
    labelled = demo.labels.column("account_id").to_pylist()
    recorded = demo.accounts.column("account_id").to_pylist()
    assert len(set(labelled)) == len(labelled) and len(set(recorded)) == len(recorded)
    assert in_events == set(labelled) == set(recorded)
    assert all(not r["malicious"] or r["campaign"] for r in demo.labels.to_pylist())
    assert all(r["malicious"] or not r["campaign"] for r in demo.labels.to_pylist())


def test_accounts_exist_before_they_send(demo: SimResult) -> None:
    first = pa.TableGroupBy(demo.events.select(["account_id", "ts"]), "account_id").aggregate(
        [("ts", "min")]
    )
    joined = first.join(demo.accounts.select(["account_id", "created_at"]), "account_id")
    assert pc.all(pc.less(joined.column("created_at"), joined.column("ts_min"))).as_py()


def test_request_ids_unique_and_time_ordered(demo: SimResult) -> None:
    ids = demo.events.column("request_id")
    assert pc.count_distinct(ids).as_py() == demo.events.num_rows
    ts = demo.events.column("ts").cast(pa.int64()).to_numpy()
    assert np.all(np.diff(ts) >= 0)
    start = datetime(2026, 3, 2, tzinfo=UTC)
    assert ts[0] >= start.timestamp() * 1e6
    assert ts[-1] < (start + timedelta(days=3)).timestamp() * 1e6


def test_no_piled_up_timestamps(demo: SimResult) -> None:
    """Microsecond times hardly ever collide in real logs; clamping artefacts would."""
    counts = pc.value_counts(demo.events.column("ts").combine_chunks())
    assert pc.max(counts.field("counts")).as_py() <= 3


def test_ids_look_the_same_for_everyone(demo: SimResult) -> None:
    malicious = dict(
        zip(
            demo.labels.column("account_id").to_pylist(),
            demo.labels.column("malicious").to_pylist(),
            strict=True,
        )
    )
    shapes = {(a[:4], len(a)) for a in malicious}
    assert shapes == {("org_", 28)}
    keys = pc.unique(demo.events.column("api_key_id")).to_pylist()
    assert {(k[:4], len(k)) for k in keys} == {("key_", 24)}


def test_event_records_have_the_contract_shape(demo: SimResult) -> None:
    ev = demo.events
    for name in (
        "ts",
        "account_id",
        "request_id",
        "api_key_id",
        "ip",
        "user_agent",
        "tls_fingerprint",
        "model",
        "endpoint",
        "prompt",
        "messages",
        "system_prompt",
        "params",
        "input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "status",
        "latency_ms",
    ):
        assert name in ev.column_names
    has_prompt = pc.is_valid(ev.column("prompt"))
    has_messages = pc.is_valid(ev.column("messages"))
    assert pc.all(pc.xor(has_prompt, has_messages)).as_py()
    turns = pc.list_value_length(ev.column("messages")).drop_null().to_numpy()
    assert turns.max() > 1 and np.mean(turns > 1) > 0.3
    for conv in ev.column("messages").drop_null().slice(0, 2000).to_pylist():
        assert conv[-1]["role"] == "user"
        assert [m["role"] for m in conv][::2] == ["user"] * ((len(conv) + 1) // 2)
    extras = ev.column("service_tier").drop_null()
    assert 0 < len(extras) < 0.05 * ev.num_rows


@pytest.mark.parametrize(
    "bad",
    [
        {"scale": {"nobody": 1.0}},
        {"campaigns": {"chat_user": 1}},
        {"unknown_key": 1},
        {"new_model_release": datetime(2020, 1, 1, tzinfo=UTC)},
        {"n_events": 10},
    ],
)
def test_config_rejects(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SimConfig.model_validate(bad)


def test_full_corpora(corpora: object) -> None:
    result = generate(SimConfig.demo(n_events=30_000, days=2.0, corpora=corpora))
    assert result.manifest["corpora"] != "embedded"
    assert {p["population"] for p in result.manifest["populations"]} == set(POPULATIONS)

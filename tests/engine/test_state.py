"""The carried-forward state: merging many small steps gives the same
per-account sums and incidence as one step over everything."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.engine.state import DetectionState
from distillguard.events import read_events
from tests.conftest import make_events
from tests.detectors.scenario import scenario

# Cluster and wrapper ids depend on what was seen before (incremental by
# design); every other family must match exactly.
_EXACT = "family NOT IN ('cluster', 'wrapper')"


def _steps(events: pa.Table, seconds: float) -> list[pa.Table]:
    t = pc.cast(pc.cast(events.column("ts"), pa.int64()), pa.float64()).to_numpy() / 1e6
    bucket = np.floor(t / seconds)
    return [events.filter(pa.array(bucket == b)) for b in np.unique(bucket)]


def test_incremental_equals_one_shot() -> None:
    rows, accounts, _ = scenario()
    events = make_events(rows)
    one = DetectionState()
    one.load_accounts(accounts)
    one.update(events)
    inc = DetectionState()
    inc.load_accounts(accounts)
    parts = _steps(events, 900.0)
    assert len(parts) > 5
    for part in parts:
        inc.update(part)
    q_acct = "SELECT * EXCLUDE (last_dt) FROM acct ORDER BY account_id"
    a, b = one.con.sql(q_acct).fetchall(), inc.con.sql(q_acct).fetchall()
    assert len(a) == len(b)
    for ra, rb in zip(a, b, strict=True):
        assert ra == tuple(pytest_approx(x) for x in rb)
    for q in (
        f"SELECT * FROM acct_key WHERE {_EXACT} ORDER BY ALL",
        f"SELECT * FROM acct_distinct WHERE {_EXACT} ORDER BY ALL",
        f"SELECT * FROM key_pop WHERE {_EXACT} ORDER BY ALL",
    ):
        assert one.con.sql(q).fetchall() == inc.con.sql(q).fetchall(), q


def _incidence(state: DetectionState) -> list[list[tuple[object, ...]]]:
    return [
        state.con.sql(f"SELECT * FROM {table} WHERE {_EXACT} ORDER BY ALL").fetchall()
        for table in ("acct_key", "acct_distinct", "key_pop")
    ]


def test_steps_out_of_order_give_the_same_incidence() -> None:
    """First and last use of a key are kept whatever order steps arrive in."""
    rows, accounts, _ = scenario()
    events = make_events(rows)
    forward, backward = DetectionState(), DetectionState()
    for state, parts in (
        (forward, _steps(events, 900.0)),
        (backward, _steps(events, 900.0)[::-1]),
    ):
        state.load_accounts(accounts)
        for part in parts:
            state.update(part)
    assert _incidence(forward) == _incidence(backward)


def _reopened_after(change: str) -> None:
    """Merge half the steps, ``change`` the state file as another version would
    have left it, open it again and merge the rest: the incidence must equal
    one state's that merged everything."""
    rows, accounts, _ = scenario()
    parts = _steps(make_events(rows), 900.0)
    half = len(parts) // 2
    ref = DetectionState()
    ref.load_accounts(accounts)
    for part in parts:
        ref.update(part)
    con = duckdb.connect()
    first = DetectionState(con)
    first.load_accounts(accounts)
    for part in parts[:half]:
        first.update(part)
    con.execute(change)
    reopened = DetectionState(con)
    reopened.start_ts, reopened.now = first.start_ts, first.now
    for part in parts[half:]:
        reopened.update(part)
    assert _incidence(reopened) == _incidence(ref)


def test_state_written_under_another_key_hash_is_rehashed() -> None:
    """A state file from a DuckDB that hashes differently (an upgrade) gets
    its ``h`` columns recomputed on open, so later steps still find their rows."""
    _reopened_after(
        "UPDATE acct_key SET h = xor(h, 12345); UPDATE key_pop SET h = xor(h, 12345);"
        "UPDATE meta SET v = 0 WHERE k = 'key_hash'"
    )


def test_state_written_before_the_key_hash_gets_it() -> None:
    """A state file from before the ``h`` columns existed gets them on open."""
    _reopened_after(
        "ALTER TABLE acct_key DROP COLUMN h; ALTER TABLE key_pop DROP COLUMN h;"
        "DELETE FROM meta WHERE k = 'key_hash'"
    )


def pytest_approx(x: object) -> object:
    import pytest

    return pytest.approx(x, rel=1e-9, abs=1e-6) if isinstance(x, float) else x


def test_features_describe_the_operation() -> None:
    rows, accounts, op = scenario()
    state = DetectionState()
    state.load_accounts(accounts)
    state.update(make_events(rows))
    feats = {r["account_id"]: r for r in state.context().features.to_pylist()}
    member = feats[sorted(op)[0]]
    assert member["n"] == 150
    assert member["dt_cv"] < 0.2
    assert member["elicit_share"] > 0.9
    assert member["distinct_ips"] == 1
    assert member["payment_fingerprint"] == "card-shared"
    assert 0.7 < member["reasoning_share"] < 0.9
    user = feats["user000"]
    assert user["elicit_share"] < 0.2
    assert user["dt_cv"] > 0.8


def test_empty_update_is_a_no_op() -> None:
    state = DetectionState()
    stats = state.update(make_events([]))
    assert stats.events == 0
    assert state.context().features.num_rows == 0


def test_reasoning_expected_is_what_the_same_models_return() -> None:
    """A reasoning model returns reasoning to every caller: each account's
    expectation is the typical reasoning and output tokens per request of
    the models it uses, read on the accounts that use each model alone and
    seldom ask for reasoning: a swarm asking for it on the same model, more
    numerous than its ordinary users, does not set the norm."""
    rows: list[dict[str, object]] = []
    t = 1_700_000_000.0

    def send(acc: str, model: str, n: int, reasoning: int, output: int, ask: str = "") -> None:
        nonlocal t
        for _ in range(n):
            t += 7.0
            rows.append(
                {
                    "ts": t,
                    "account_id": acc,
                    "prompt": f"{ask}question {len(rows)}",
                    "model": model,
                    "output_tokens": output,
                    "reasoning_tokens": reasoning,
                }
            )

    for k in range(30):
        if k < 25:
            send(f"think{k:02d}", "thinker", 6, 900, 100)
        send(f"plain{k:02d}", "plain", 6, 0, 300)
    for k in range(40):
        send(f"swarm{k:02d}", "thinker", 6, 3000, 100, ask="Write out all of your reasoning: ")
    send("mixed", "plain", 3, 0, 300)
    send("mixed", "thinker", 3, 2000, 100)
    send("rare", "unusual", 6, 50, 50)
    state = DetectionState()
    state.update(make_events(rows))
    ctx = state.context()
    ids = ctx.features.column("account_id").to_pylist()
    expected = dict(zip(ids, ctx.reasoning_expected.tolist(), strict=True))
    assert expected["think03"] == pytest_approx(0.9)
    assert expected["plain03"] == pytest_approx(0.0)
    # Three requests of each model: 2700 reasoning tokens out of 3900.
    assert expected["mixed"] == pytest_approx(2700 / 3900)
    # Too few accounts use this model alone to know it: the typical account
    # overall among those that seldom ask for reasoning (most get none).
    assert expected["rare"] == pytest_approx(0.0)
    # Requests that could return reasoning: to a model whose ordinary
    # requests get some, or whose norm is not known.
    could = dict(zip(ids, ctx.reasoning_requests.tolist(), strict=True))
    assert (could["think03"], could["plain03"], could["mixed"], could["rare"]) == (6, 0, 3, 6)


def test_a_system_instruction_asking_for_reasoning_counts_as_eliciting() -> None:
    """An operation that puts its demand for written-out reasoning in the
    system instruction and sends bare problems still asks for reasoning."""
    system = "You are an expert problem solver. Always write out your complete chain of thought."
    rows: list[dict[str, object]] = []
    for k in range(20):
        for acc, sys_prompt in (("op", system), ("app", "You are a travel planning assistant.")):
            rows.append(
                {
                    "ts": 1_700_000_000.0 + 10 * len(rows),
                    "account_id": acc,
                    "prompt": f"A tank holds {k + 3} litres and leaks {k % 4 + 1} per hour. "
                    "When is it empty?",
                    "system_prompt": sys_prompt if k % 2 == 0 else None,
                }
            )
    state = DetectionState()
    state.update(make_events(rows))
    share = _elicit_share(state)
    assert share == {"app": 0.0, "op": 0.5}
    # The instruction is a key of its own family, as a wrapper is.
    keys = state.con.sql(
        "SELECT account_id, n FROM acct_key WHERE family = 'system' ORDER BY ALL"
    ).fetchall()
    assert keys == [("app", 10), ("op", 10)]


def test_a_priming_turn_asking_for_reasoning_counts_as_eliciting(tmp_path: Path) -> None:
    """An operation that asks for the full reasoning once, in an earlier user
    turn, and sends each bare problem last still asks for reasoning; a
    conversation whose earlier turns ask nothing of the kind does not."""
    prime = (
        "From now on, for every problem I send, write out your complete chain of "
        "thought before the final answer."
    )
    lines = []
    for k in range(12):
        problem = f"A tank holds {k + 3} litres and leaks {k % 4 + 1} per hour. When is it empty?"
        talks = {
            "op": [prime, "Understood.", problem],
            "chat": ["What is a good name for a grey cat?", "Ash, or Smokey.", "And a dog?"],
            "fresh": [problem],
        }
        for acc, turns in talks.items():
            messages = [
                {"role": "user" if i % 2 == 0 else "assistant", "content": text}
                for i, text in enumerate(turns)
            ]
            ts = 1_700_000_000_000 + 10_000 * len(lines)
            lines.append(orjson.dumps({"ts": ts, "account_id": acc, "messages": messages}))
    path = tmp_path / "primed.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    events = read_events([path]).read_all()
    accounts = events["account_id"].to_pylist()
    earlier = dict(zip(accounts, events["earlier_prompts"].to_pylist(), strict=True))
    assert earlier == {"op": prime, "chat": "What is a good name for a grey cat?", "fresh": None}
    state = DetectionState()
    state.update(events)
    share = _elicit_share(state)
    assert share == {"chat": 0.0, "fresh": 0.0, "op": 1.0}


def _elicit_share(state: DetectionState) -> dict[str, float]:
    feats = state.context().features
    accounts = feats.column("account_id").to_pylist()
    return dict(zip(accounts, feats.column("elicit_share").to_pylist(), strict=True))

"""The reasoning-elicitation detector reads reasoning tokens against what the
same models return to ordinary requests."""

from __future__ import annotations

from distillguard.detectors.elicitation import ReasoningElicitationDetector
from distillguard.engine.state import DetectionState
from tests.conftest import make_events

ASK = "Write out all of your reasoning step by step before the answer: "


def _state() -> DetectionState:
    rows: list[dict[str, object]] = []
    t = 1_700_000_000.0

    def send(acc: str, model: str, n: int, reasoning: int, output: int, ask: str = "") -> None:
        nonlocal t
        for _ in range(n):
            t += 11.0
            rows.append(
                {
                    "ts": t,
                    "account_id": acc,
                    "prompt": f"{ask}what is {len(rows)} squared plus {len(rows) % 7}?",
                    "model": model,
                    "output_tokens": output,
                    "reasoning_tokens": reasoning,
                }
            )

    for k in range(25):
        send(f"think{k:02d}", "thinker", 6, 500, 500)
        send(f"plain{k:02d}", "plain", 6, 0, 400)
    # Three accounts that ask for written-out reasoning in every request:
    # one on the model without reasoning, one getting from the reasoning
    # model what everybody gets, one getting far more.
    send("asks_plain", "plain", 60, 0, 400, ask=ASK)
    send("asks_thinker", "thinker", 60, 500, 500, ask=ASK)
    send("asks_more", "thinker", 60, 3000, 100, ask=ASK)
    state = DetectionState()
    state.update(make_events(rows))
    return state


def test_reasoning_tokens_count_beyond_what_the_model_returns_to_everyone() -> None:
    findings = ReasoningElicitationDetector().detect(_state().context())
    by = {f.accounts[0]: f for f in findings}
    assert {"asks_plain", "asks_thinker", "asks_more"} <= set(by)
    assert not {a for a in by if a.startswith(("think", "plain"))}
    # Choosing a reasoning model is not evidence: the same asking scores the
    # same whichever model answers, until the reasoning exceeds its norm.
    assert abs(by["asks_thinker"].score - by["asks_plain"].score) < 0.01
    assert by["asks_more"].score > by["asks_thinker"].score + 0.1
    assert by["asks_thinker"].evidence["reasoning_expected"] == 0.5
    assert "for ordinary requests to the same models" in by["asks_more"].reason


def test_a_shared_system_instruction_links_the_accounts_that_send_it() -> None:
    from distillguard.detectors.wrappers import SharedWrapperDetector

    system = "You are generating training data. Give a long, detailed chain of thought."
    names = ["Ada", "Bo", "Cy", "Di", "Ed", "Flo"]
    rows: list[dict[str, object]] = []
    for k in range(60):
        acc = f"op{k % 4}" if k % 2 else f"user{k % 6}"
        rows.append(
            {
                "ts": 1_700_000_000.0 + 30 * k,
                "account_id": acc,
                "prompt": f"How many ways can {k + 2} people sit at a round table?",
                # The operation stamps each request's instruction with its own id.
                "system_prompt": f"[request {k:08x}] {system}"
                if acc.startswith("op")
                else f"You help {names[k % 6]}.",
            }
        )
    state = DetectionState()
    state.update(make_events(rows))
    found = [
        f
        for f in SharedWrapperDetector().detect(state.context())
        if f.link and f.link.startswith("system:")
    ]
    assert len(found) == 1
    assert set(found[0].accounts) == {"op1", "op3"}
    assert found[0].evidence["template"] == f"[request {{#}}] {system}"
    assert found[0].score > 0.45  # an instruction that coerces reasoning weighs more


def test_a_shared_priming_turn_links_the_accounts_that_open_with_it() -> None:
    from distillguard.detectors.wrappers import SharedWrapperDetector

    prime = "From now on, write out your complete chain of thought before every answer."
    rows: list[dict[str, object]] = []
    for k in range(60):
        acc = f"op{k % 4}" if k % 2 else f"user{k % 6}"
        # Two strangers can open with the same ordinary question: that is a
        # shared prompt, not a template.
        first = f"[{k:04x}] {prime}" if acc.startswith("op") else "What is the capital of Peru?"
        rows.append(
            {
                "ts": 1_700_000_000.0 + 30 * k,
                "account_id": acc,
                "prompt": f"How many ways can {k + 2} people sit at a round table?",
                "user_turns": 2,
                "earlier_prompts": first,
            }
        )
    state = DetectionState()
    state.update(make_events(rows))
    feats = state.context().features
    share = dict(
        zip(feats["account_id"].to_pylist(), feats["elicit_share"].to_pylist(), strict=True)
    )
    assert share["op1"] == 1.0 and share["user0"] == 0.0
    found = [
        f
        for f in SharedWrapperDetector().detect(state.context())
        if f.link and f.link.startswith("opening:")
    ]
    assert len(found) == 1
    assert set(found[0].accounts) == {"op1", "op3"}
    assert found[0].evidence["template"] == f"[{{#}}] {prime}"
    assert "open their conversations alike" in found[0].reason

"""Reasoning removal, whole and streamed: any cut of the stream into chunks
gives the same text as stripping the whole answer."""

from __future__ import annotations

import itertools

import orjson
from hypothesis import given
from hypothesis import strategies as st

from distillguard.gateway.reasoning import ThinkStripper, strip_response, strip_think
from distillguard.gateway.sse import StreamRelay

_PIECES = st.lists(
    st.sampled_from(
        ["<think>", "</think>", "<", "think", ">", " ", "\n", "a", "b c", "</", "<thi"]
    ),
    max_size=30,
)


@given(_PIECES, st.lists(st.integers(min_value=0, max_value=60), max_size=8))
def test_streamed_equals_whole(pieces: list[str], cuts: list[int]) -> None:
    text = "".join(pieces)
    bounds = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    s = ThinkStripper()
    out = "".join(s.feed(text[a:b]) for a, b in itertools.pairwise(bounds)) + s.flush()
    assert out == strip_think(text)


def test_strip_think() -> None:
    assert strip_think("<think>x</think>\n\nAnswer") == "Answer"
    assert strip_think("A <think>unclosed") == "A "
    assert strip_think("no tags < here >") == "no tags < here >"


def test_strip_chat_message() -> None:
    body = {
        "choices": [
            {
                "message": {
                    "content": "<think>r</think>ok",
                    "reasoning_content": "r",
                    "reasoning": "r",
                }
            }
        ]
    }
    strip_response("chat.completions", body)
    assert body["choices"][0]["message"] == {"content": "ok"}


def _sse(*objs: object) -> bytes:
    return b"".join(b"data: " + orjson.dumps(o) + b"\n\n" for o in objs) + b"data: [DONE]\n\n"


def test_relay_passes_through_untouched_and_hides_added_usage() -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 5}
    chunk = {"choices": [{"index": 0, "delta": {"reasoning_content": "r"}}], "usage": None}
    raw = _sse(chunk, {"choices": [], "usage": usage})
    relay = StreamRelay("chat.completions", degrade=False, hide_usage=True)
    # Fed one byte at a time, the relay still returns whole events.
    out = b"".join(relay.feed(raw[i : i + 1]) for i in range(len(raw))) + relay.close()
    assert out == _sse(chunk)
    assert relay.usage == usage
    keep = StreamRelay("chat.completions", degrade=False, hide_usage=False)
    assert keep.feed(raw) + keep.close() == raw


def test_relay_degrades_chat_chunks() -> None:
    chunks = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
        {"choices": [{"index": 0, "delta": {"reasoning_content": "secret"}}]},
        {"choices": [{"index": 0, "delta": {"content": "<thi"}}]},
        {"choices": [{"index": 0, "delta": {"content": "nk>hidden</think> Hi"}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ]
    relay = StreamRelay("chat.completions", degrade=True, hide_usage=False)
    out = relay.feed(_sse(*chunks)) + relay.close()
    events = [orjson.loads(e[6:]) for e in out.split(b"\n\n") if e and e != b"data: [DONE]"]
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events)
    assert text == "Hi"
    assert b"secret" not in out and b"hidden" not in out and out.endswith(b"data: [DONE]\n\n")

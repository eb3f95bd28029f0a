"""A small OpenAI-compatible model server for demos, tests and benchmarks.

Answers are deterministic (a function of the prompt), carry a reasoning trace
(``reasoning_content`` on chat messages, a ``reasoning`` output item on the
Responses API, optionally a ``<think>`` block inside the text), report usage
(whitespace-separated words count as tokens) and can be streamed as SSE
chunks ending in ``data: [DONE]``. ``latency_ms`` delays the first byte and
``chunk_delay_ms`` each streamed chunk.

    distillguard gateway mock --port 8001 --think --latency-ms 20
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import orjson
import xxhash

from distillguard.gateway._asgi import (
    SSE_TYPE,
    Receive,
    Scope,
    Send,
    drain,
    read_body,
    respond_json,
    start,
)

MODELS = ("mock-reasoner", "mock-small")
_WORDS = [
    "first",
    "consider",
    "the",
    "problem",
    "then",
    "check",
    "each",
    "case",
    "carefully",
    "because",
    "the",
    "result",
    "follows",
    "from",
    "the",
    "definition",
    "and",
    "a",
    "short",
    "computation",
    "gives",
    "the",
    "value",
    "so",
    "we",
    "conclude",
]


@dataclass(frozen=True, slots=True)
class MockConfig:
    latency_ms: float = 0.0
    chunk_delay_ms: float = 0.0
    think: bool = False  # put the reasoning in a <think> block inside the content too
    answer_words: int = 24
    reasoning_words: int = 40
    chunk_words: int = 4


def _text(seed: str, n: int) -> str:
    h = xxhash.xxh64_intdigest(seed.encode())
    return " ".join(_WORDS[(h >> (i % 48) ^ i * 7) % len(_WORDS)] for i in range(n))


def _count(text: str) -> int:
    return len(text.split())


@dataclass(frozen=True, slots=True)
class _Answer:
    reasoning: str
    content: str
    prompt_tokens: int

    @property
    def usage(self) -> dict[str, Any]:
        out = _count(self.content) + _count(self.reasoning)
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": out,
            "total_tokens": self.prompt_tokens + out,
            "completion_tokens_details": {"reasoning_tokens": _count(self.reasoning)},
        }


class MockServer:
    """The ASGI app. ``requests`` counts the model calls it has answered."""

    def __init__(self, config: MockConfig | None = None) -> None:
        self.config = config or MockConfig()
        self.requests = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        path, method = scope["path"], scope["method"]
        if method == "GET" and path == "/v1/models":
            await drain(receive)
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "mock"} for m in MODELS]
            await respond_json(send, 200, {"object": "list", "data": data})
            return
        if method != "POST" or path not in _ROUTES:
            await drain(receive)
            await respond_json(
                send, 404, {"error": {"message": "not found", "type": "invalid_request_error"}}
            )
            return
        body = await read_body(receive, 1 << 24) or b"{}"
        try:
            req = orjson.loads(body)
        except orjson.JSONDecodeError:
            await respond_json(
                send, 400, {"error": {"message": "bad JSON", "type": "invalid_request_error"}}
            )
            return
        self.requests += 1
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000)
        await _ROUTES[path](self, req, send)

    def answer(self, prompt: str, prompt_tokens: int, max_tokens: int | None) -> _Answer:
        cfg = self.config
        n_answer = (
            cfg.answer_words
            if max_tokens is None
            else max(1, min(cfg.answer_words, max_tokens // 2))
        )
        n_reason = (
            cfg.reasoning_words
            if max_tokens is None
            else max(1, min(cfg.reasoning_words, max_tokens - n_answer))
        )
        reasoning = "Reasoning: " + _text("r" + prompt, n_reason - 1)
        content = "Answer: " + _text("a" + prompt, n_answer - 1)
        return _Answer(reasoning, content, prompt_tokens)

    def _visible(self, ans: _Answer) -> str:
        return (
            f"<think>{ans.reasoning}</think>\n{ans.content}" if self.config.think else ans.content
        )

    async def chat(self, req: dict[str, Any], send: Send) -> None:
        messages = req.get("messages") or []
        prompt = "\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
        ans = self.answer(prompt, max(1, _count(prompt)), _max_tokens(req))
        model = str(req.get("model") or MODELS[0])
        rid = "chatcmpl-" + xxhash.xxh64_hexdigest(prompt.encode())
        if not req.get("stream"):
            message = {
                "role": "assistant",
                "content": self._visible(ans),
                "reasoning_content": ans.reasoning,
            }
            choice = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
            await respond_json(
                send, 200, _envelope(rid, "chat.completion", model, [choice], ans.usage)
            )
            return
        await start(send, 200, [SSE_TYPE, (b"cache-control", b"no-cache")])

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
            return _envelope(rid, "chat.completion.chunk", model, [choice], None)

        events: list[dict[str, Any]] = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"reasoning_content": p}) for p in self._pieces(ans.reasoning)]
        if self.config.think:
            events += [
                chunk({"content": p})
                for p in self._pieces(f"<think>{ans.reasoning}</think>\n", split=True)
            ]
        events += [chunk({"content": p}) for p in self._pieces(ans.content)]
        events.append(chunk({}, "stop"))
        if (req.get("stream_options") or {}).get("include_usage"):
            events.append(_envelope(rid, "chat.completion.chunk", model, [], ans.usage))
        await self._stream(send, events)

    async def completions(self, req: dict[str, Any], send: Send) -> None:
        prompt = req.get("prompt") or ""
        prompt = prompt if isinstance(prompt, str) else "\n".join(map(str, prompt))
        ans = self.answer(prompt, max(1, _count(prompt)), _max_tokens(req))
        model = str(req.get("model") or MODELS[0])
        rid = "cmpl-" + xxhash.xxh64_hexdigest(prompt.encode())
        text = self._visible(ans)
        if not req.get("stream"):
            choice = {"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}
            await respond_json(
                send, 200, _envelope(rid, "text_completion", model, [choice], ans.usage)
            )
            return
        await start(send, 200, [SSE_TYPE, (b"cache-control", b"no-cache")])
        events = [
            _envelope(
                rid,
                "text_completion",
                model,
                [{"index": 0, "text": p, "finish_reason": None, "logprobs": None}],
                None,
            )
            for p in self._pieces(text, split=True)
        ]
        events.append(
            _envelope(
                rid,
                "text_completion",
                model,
                [{"index": 0, "text": "", "finish_reason": "stop", "logprobs": None}],
                None,
            )
        )
        if (req.get("stream_options") or {}).get("include_usage"):
            events.append(_envelope(rid, "text_completion", model, [], ans.usage))
        await self._stream(send, events)

    async def responses(self, req: dict[str, Any], send: Send) -> None:
        raw = req.get("input") or ""
        prompt = (
            raw
            if isinstance(raw, str)
            else "\n".join(str(m.get("content", "")) for m in raw if isinstance(m, dict))
        )
        ans = self.answer(prompt, max(1, _count(prompt)), req.get("max_output_tokens"))
        model = str(req.get("model") or MODELS[0])
        rid = "resp_" + xxhash.xxh64_hexdigest(prompt.encode())
        text = self._visible(ans)
        reasoning = {
            "id": "rs_" + rid[5:],
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": ans.reasoning}],
        }
        message = {
            "id": "msg_" + rid[5:],
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }
        usage = {
            "input_tokens": ans.prompt_tokens,
            "output_tokens": ans.usage["completion_tokens"],
            "total_tokens": ans.usage["total_tokens"],
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": _count(ans.reasoning)},
        }
        done = {
            "id": rid,
            "object": "response",
            "created_at": int(time.time()),
            "model": model,
            "status": "completed",
            "output": [reasoning, message],
            "usage": usage,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
        }
        if not req.get("stream"):
            await respond_json(send, 200, done)
            return
        await start(send, 200, [SSE_TYPE, (b"cache-control", b"no-cache")])
        pending = {**done, "status": "in_progress", "output": [], "usage": None}
        events: list[dict[str, Any]] = [
            {"type": "response.created", "response": pending},
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {**reasoning, "summary": []},
            },
        ]
        events += [
            {
                "type": "response.reasoning_summary_text.delta",
                "item_id": reasoning["id"],
                "output_index": 0,
                "summary_index": 0,
                "delta": p,
            }
            for p in self._pieces(ans.reasoning)
        ]
        events.append({"type": "response.output_item.done", "output_index": 0, "item": reasoning})
        events.append(
            {
                "type": "response.output_item.added",
                "output_index": 1,
                "item": {**message, "content": [], "status": "in_progress"},
            }
        )
        events += [
            {
                "type": "response.output_text.delta",
                "item_id": message["id"],
                "output_index": 1,
                "content_index": 0,
                "delta": p,
            }
            for p in self._pieces(text, split=True)
        ]
        events.append(
            {
                "type": "response.output_text.done",
                "item_id": message["id"],
                "output_index": 1,
                "content_index": 0,
                "text": text,
            }
        )
        events.append({"type": "response.output_item.done", "output_index": 1, "item": message})
        events.append({"type": "response.completed", "response": done})
        for i, event in enumerate(events):
            event["sequence_number"] = i
        await self._stream(send, events, named=True)

    def _pieces(self, text: str, split: bool = False) -> list[str]:
        """``text`` in chunks of a few words; ``split`` also cuts inside tags, as
        real tokenisers do, so that filters must handle tags across chunks."""
        words = text.split(" ")
        n = self.config.chunk_words
        parts = [
            " ".join(words[i : i + n]) + (" " if i + n < len(words) else "")
            for i in range(0, len(words), n)
        ]
        if split:
            parts = [q for p in parts for q in ((p[:3], p[3:]) if len(p) > 3 else (p,))]
        return parts

    async def _stream(self, send: Send, events: list[dict[str, Any]], named: bool = False) -> None:
        delay = self.config.chunk_delay_ms / 1000
        for event in events:
            head = b"event: " + event["type"].encode() + b"\n" if named else b""
            body = head + b"data: " + orjson.dumps(event) + b"\n\n"
            await send({"type": "http.response.body", "body": body, "more_body": True})
            if delay:
                await asyncio.sleep(delay)
        tail = b"" if named else b"data: [DONE]\n\n"
        await send({"type": "http.response.body", "body": tail, "more_body": False})


def _max_tokens(req: dict[str, Any]) -> int | None:
    value = req.get("max_completion_tokens") or req.get("max_tokens")
    return int(value) if isinstance(value, int | float) and value > 0 else None


def _envelope(rid: str, obj: str, model: str, choices: list[Any], usage: Any) -> dict[str, Any]:
    return {
        "id": rid,
        "object": obj,
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        "usage": usage,
    }


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


_ROUTES = {
    "/v1/chat/completions": MockServer.chat,
    "/v1/completions": MockServer.completions,
    "/v1/responses": MockServer.responses,
}

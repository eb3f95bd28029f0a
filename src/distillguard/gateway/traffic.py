"""One ``EVENT_SCHEMA`` event per request the gateway answers.

The gateway knows what a provider's own logs would: who (account, key, client
address, user agent), what (model, endpoint, the conversation, sampling
parameters), how much (token counts from the upstream's ``usage``), when and
with what outcome (status, latency, the enforcement action taken, as the
extra field ``gateway_action``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ENDPOINTS = {
    "/v1/chat/completions": "chat.completions",
    "/v1/completions": "completions",
    "/v1/responses": "responses",
}
_PARAMS = ("temperature", "top_p", "n", "seed", "stream", "logprobs")


@dataclass(slots=True)
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None

    @property
    def total(self) -> int | None:
        if self.input_tokens is None and self.output_tokens is None:
            return None
        return (self.input_tokens or 0) + (self.output_tokens or 0)


def parse_usage(usage: object) -> Usage:
    """Token counts from a chat/completions or Responses ``usage`` object."""
    if not isinstance(usage, dict):
        return Usage()
    inp = usage.get("prompt_tokens", usage.get("input_tokens"))
    out = usage.get("completion_tokens", usage.get("output_tokens"))
    details = usage.get("completion_tokens_details") or usage.get("output_tokens_details") or {}
    reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else None
    return Usage(_int(inp), _int(out), _int(reasoning))


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and value >= 0 else None


def _text(content: object) -> str:
    """Message content as text: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = (p.get("text") for p in content if isinstance(p, dict))
        return "\n".join(p for p in parts if isinstance(p, str))
    return ""


def max_tokens(req: dict[str, Any]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens", "max_output_tokens"):
        value = req.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return None


@dataclass(slots=True)
class Conversation:
    prompt: str | None = None
    messages: list[dict[str, str]] | None = None
    system_prompt: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


def conversation(endpoint: str, req: dict[str, Any]) -> Conversation:
    """What was asked, in the event schema's terms."""
    conv = Conversation(params=_params(req))
    if endpoint == "completions":
        prompt = req.get("prompt")
        conv.prompt = (
            prompt if isinstance(prompt, str) else _text([{"text": p} for p in prompt or ()])
        )
        return conv
    raw = req.get("messages") if endpoint == "chat.completions" else req.get("input")
    if isinstance(raw, str):
        conv.prompt = raw
        raw = [{"role": "user", "content": raw}]
    msgs = [
        {"role": str(m.get("role", "user")), "content": _text(m.get("content"))}
        for m in raw or ()
        if isinstance(m, dict)
    ]
    system = [m["content"] for m in msgs if m["role"] in ("system", "developer")]
    if isinstance(req.get("instructions"), str):
        system.insert(0, req["instructions"])
    conv.system_prompt = "\n".join(system) or None
    conv.messages = [m for m in msgs if m["role"] not in ("system", "developer")]
    users = [m["content"] for m in conv.messages if m["role"] == "user"]
    if conv.prompt is None:
        conv.prompt = users[-1] if users else None
    return conv


def _params(req: dict[str, Any]) -> dict[str, Any]:
    params = {k: req[k] for k in _PARAMS if req.get(k) is not None}
    if (mt := max_tokens(req)) is not None:
        params["max_tokens"] = mt
    effort = req.get("reasoning_effort")
    if effort is None and isinstance(req.get("reasoning"), dict):
        effort = req["reasoning"].get("effort")
    if effort is not None:
        params["reasoning_effort"] = effort
    return params


@dataclass(slots=True)
class Exchange:
    """Everything the gateway learnt about one request, turned into an event by :meth:`event`."""

    ts_ms: int
    request_id: str
    account_id: str
    api_key_id: str | None
    ip: str | None
    user_agent: str | None
    endpoint: str
    model: str | None = None
    conv: Conversation | None = None
    usage: Usage = field(default_factory=Usage)
    status: int = 0
    latency_ms: float = 0.0
    action: str = "allow"
    response: str | None = None

    def event(self, *, keep_prompts: bool = True) -> dict[str, Any]:
        ev: dict[str, Any] = {
            "ts": self.ts_ms,
            "request_id": self.request_id,
            "account_id": self.account_id,
            "endpoint": self.endpoint,
            "status": self.status,
            "latency_ms": round(self.latency_ms, 3),
            "gateway_action": self.action,
        }
        optional = {
            "api_key_id": self.api_key_id,
            "ip": self.ip,
            "user_agent": self.user_agent,
            "model": self.model,
            "input_tokens": self.usage.input_tokens,
            "output_tokens": self.usage.output_tokens,
            "reasoning_tokens": self.usage.reasoning_tokens,
            "response": self.response,
        }
        ev.update((k, v) for k, v in optional.items() if v is not None)
        conv = self.conv
        if conv is not None:
            if conv.params:
                ev["params"] = conv.params
            if keep_prompts:
                for key in ("prompt", "messages", "system_prompt"):
                    if (value := getattr(conv, key)) is not None:
                        ev[key] = value
        if "prompt" not in ev and "messages" not in ev:
            ev["prompt"] = ""  # refused before the body was read, or prompts not kept
        return ev

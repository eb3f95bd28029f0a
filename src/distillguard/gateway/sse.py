"""Server-sent events passing through the gateway.

:class:`StreamRelay` sits between the upstream's raw byte stream and the
client. Undegraded streams go through byte for byte; the relay only splits
events (cheap) to find the one that carries ``usage``, and to drop it when
the gateway asked for it on the client's behalf (``stream_options.include_usage``
added so that token limits and the traffic feed get real counts). Degraded
streams are parsed event by event and their reasoning removed.
"""

from __future__ import annotations

from typing import Any

import orjson

from distillguard.gateway.reasoning import (
    REASONING_KEYS,
    ThinkStripper,
    strip_message,
    strip_response,
    strip_think,
)

_SEP = (b"\r\n\r\n", b"\n\n")


class StreamRelay:
    """Filters one SSE stream: ``feed(chunk) -> bytes to send``, then ``close()``."""

    def __init__(self, endpoint: str, *, degrade: bool, hide_usage: bool) -> None:
        self.endpoint = endpoint
        self.degrade = degrade
        self.hide_usage = hide_usage
        self.usage: dict[str, Any] | None = None
        self._buf = b""
        self._strippers: dict[tuple[int, int], ThinkStripper] = {}

    def feed(self, chunk: bytes) -> bytes:
        self._buf += chunk
        out: list[bytes] = []
        while True:
            end, sep = _find_sep(self._buf)
            if end < 0:
                break
            event = self._buf[: end + len(sep)]
            self._buf = self._buf[end + len(sep) :]
            out.append(self._event(event))
        if not self.degrade and not self.hide_usage and not out and len(self._buf) > 1 << 20:
            # A single event larger than 1 MiB: pass it on rather than hold it.
            out.append(self._buf)
            self._buf = b""
        return b"".join(out)

    def close(self) -> bytes:
        """Whatever is left when the upstream stream ends (an unterminated event)."""
        rest, self._buf = self._buf, b""
        return self._event(rest) if rest.strip() else rest

    def _event(self, raw: bytes) -> bytes:
        if not self.degrade and b'"usage"' not in raw:
            return raw
        lines = raw.splitlines()
        data = b"\n".join(line[5:].lstrip() for line in lines if line.startswith(b"data:"))
        if not data or data == b"[DONE]":
            return raw
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return raw
        if not isinstance(obj, dict):
            return raw
        keep = self._transform(obj)
        if not keep:
            return b""
        if not self.degrade:
            return raw
        head = b"".join(line + b"\n" for line in lines if not line.startswith(b"data:") and line)
        return head + b"data: " + orjson.dumps(obj) + b"\n\n"

    def _transform(self, obj: dict[str, Any]) -> bool:
        """Note usage and filter ``obj`` in place; False drops the event."""
        if self.endpoint == "responses":
            return self._responses_event(obj)
        usage = obj.get("usage")
        if isinstance(usage, dict):
            self.usage = usage
            if self.hide_usage and not obj.get("choices"):
                return False
        if self.degrade:
            return self._degrade_chunk(obj)
        return True

    def _degrade_chunk(self, obj: dict[str, Any]) -> bool:
        changed_to_empty = False
        for choice in obj.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            index = int(choice.get("index") or 0)
            delta = choice.get("delta")
            if isinstance(delta, dict):
                had = bool(delta)
                for key in REASONING_KEYS:
                    delta.pop(key, None)
                if isinstance(delta.get("content"), str):
                    delta["content"] = self._strip((index, 0), delta["content"], choice)
                    if not delta["content"] and not choice.get("finish_reason"):
                        delta.pop("content")
                elif delta.get("content") is not None:
                    strip_message(delta)
                changed_to_empty = had and not delta and not choice.get("finish_reason")
            if isinstance(choice.get("text"), str):
                choice["text"] = self._strip((index, 0), choice["text"], choice)
            for key in REASONING_KEYS:
                choice.pop(key, None)
        return not (
            changed_to_empty and len(obj.get("choices") or ()) == 1 and not obj.get("usage")
        )

    def _strip(self, key: tuple[int, int], text: str, choice: dict[str, Any]) -> str:
        stripper = self._strippers.setdefault(key, ThinkStripper())
        out = stripper.feed(text)
        if choice.get("finish_reason"):
            out += stripper.flush()
        return out

    def _responses_event(self, obj: dict[str, Any]) -> bool:
        kind = str(obj.get("type", ""))
        resp = obj.get("response")
        if isinstance(resp, dict) and isinstance(resp.get("usage"), dict):
            self.usage = resp["usage"]
        if not self.degrade:
            return True
        if kind.startswith("response.reasoning"):
            return False
        item = obj.get("item")
        if isinstance(item, dict) and item.get("type") == "reasoning":
            return False
        part = obj.get("part")
        if isinstance(part, dict) and part.get("type") in ("reasoning", "reasoning_text"):
            return False
        if isinstance(resp, dict):
            strip_response("responses", resp)
        if isinstance(item, dict):
            strip_message(item)
        if kind == "response.output_text.delta" and isinstance(obj.get("delta"), str):
            key = (int(obj.get("output_index") or 0), int(obj.get("content_index") or 0))
            obj["delta"] = self._strippers.setdefault(key, ThinkStripper()).feed(obj["delta"])
        elif isinstance(obj.get("text"), str):
            obj["text"] = strip_think(obj["text"])
        if isinstance(part, dict) and isinstance(part.get("text"), str):
            part["text"] = strip_think(part["text"])
        return True


def _find_sep(buf: bytes) -> tuple[int, bytes]:
    best, sep = -1, b""
    for candidate in _SEP:
        i = buf.find(candidate)
        if i >= 0 and (best < 0 or i < best):
            best, sep = i, candidate
    return best, sep

"""Remove reasoning from answers: the ``degrade`` action.

A degraded account is served the answer without its reasoning trace: the
``reasoning_content`` / ``reasoning`` / ``reasoning_details`` fields of chat
messages and deltas, Responses API ``reasoning`` output items and events, and
``<think>…</think>`` blocks inside the text itself. Usage counts are left as
the upstream reported them (the tokens were produced and are billed).

Streams are filtered chunk by chunk; a ``<think>`` tag split across two chunks
is handled by :class:`ThinkStripper`, a small state machine that holds back
only the few characters that could still begin a tag.

>>> strip_think("<think>2+2: add them</think>The answer is 4.")
'The answer is 4.'
>>> s = ThinkStripper()
>>> s.feed("Hi <th") + s.feed("ink>secret</thi") + s.feed("nk> there") + s.flush()
'Hi there'
"""

from __future__ import annotations

import re
from typing import Any

OPEN = "<think>"
CLOSE = "</think>"
REASONING_KEYS = ("reasoning_content", "reasoning", "reasoning_details")
_THINK = re.compile(r"<think>.*?(?:</think>\s*|\Z)", re.DOTALL)


def strip_think(text: str) -> str:
    """``text`` without ``<think>`` blocks (an unclosed block runs to the end)."""
    if OPEN not in text:
        return text
    return _THINK.sub("", text)


def _held(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0


class ThinkStripper:
    """Streaming ``<think>`` removal: ``feed`` each text delta, ``flush`` at the end."""

    __slots__ = ("_after_close", "_inside", "_pending")

    def __init__(self) -> None:
        self._inside = False
        self._pending = ""
        self._after_close = False

    def feed(self, text: str) -> str:
        buf = self._pending + text
        self._pending = ""
        out: list[str] = []
        while buf:
            if self._after_close:  # whitespace right after </think> goes with the block
                buf = buf.lstrip()
                if not buf:
                    break
                self._after_close = False
            tag = CLOSE if self._inside else OPEN
            i = buf.find(tag)
            if i >= 0:
                if not self._inside:
                    out.append(buf[:i])
                buf = buf[i + len(tag) :]
                self._after_close = self._inside
                self._inside = not self._inside
                continue
            keep = _held(buf, tag)
            if not self._inside:
                out.append(buf[: len(buf) - keep])
            self._pending = buf[len(buf) - keep :]
            break
        return "".join(out)

    def flush(self) -> str:
        """Text held back at the end of the stream (a tag that never completed)."""
        rest, self._pending = ("" if self._inside else self._pending), ""
        return rest


def strip_message(message: dict[str, Any]) -> None:
    """Degrade one chat message or delta in place."""
    for key in REASONING_KEYS:
        message.pop(key, None)
    content = message.get("content")
    if isinstance(content, str):
        message["content"] = strip_think(content)
    elif isinstance(content, list):
        message["content"] = [p for p in content if not _is_reasoning_part(p)]
        for part in message["content"]:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                part["text"] = strip_think(part["text"])


def _is_reasoning_part(part: object) -> bool:
    return isinstance(part, dict) and part.get("type") in (
        "reasoning",
        "reasoning_text",
        "thinking",
    )


def strip_response(endpoint: str, body: dict[str, Any]) -> None:
    """Degrade a complete (non-streamed) answer of ``endpoint`` in place."""
    if endpoint == "responses":
        _strip_responses_object(body)
        return
    for choice in body.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        for key in REASONING_KEYS:
            choice.pop(key, None)
        if isinstance(choice.get("message"), dict):
            strip_message(choice["message"])
        if isinstance(choice.get("text"), str):
            choice["text"] = strip_think(choice["text"])


def _strip_responses_object(resp: dict[str, Any]) -> None:
    output = resp.get("output")
    if not isinstance(output, list):
        return
    resp["output"] = [item for item in output if not _is_reasoning_item(item)]
    for item in resp["output"]:
        if isinstance(item, dict) and isinstance(item.get("content"), list):
            strip_message(item)
    if isinstance(resp.get("output_text"), str):
        resp["output_text"] = strip_think(resp["output_text"])


def _is_reasoning_item(item: object) -> bool:
    return isinstance(item, dict) and item.get("type") == "reasoning"

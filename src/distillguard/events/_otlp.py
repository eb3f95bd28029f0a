"""OpenTelemetry GenAI spans from OTLP/JSON file exports.

A file holds one ``ExportTraceServiceRequest`` (``{"resourceSpans": [...]}``)
or one per line, as the OpenTelemetry Collector's file exporter writes them.
Each span with at least one ``gen_ai.*`` attribute is a record; other spans
(HTTP, database...) are skipped and not counted. The "line" of a record is the
span's ordinal in the file (1-based, over all spans).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from distillguard._exceptions import IngestError
from distillguard.events._normalize import message_text
from distillguard.events._sources import Block, Source, open_binary

#: OpenTelemetry attribute -> event field (EVENT_SCHEMA.md, "OpenTelemetry GenAI mapping").
ATTRIBUTE_FIELDS = {
    "user.id": "account_id",
    "client.address": "ip",
    "user_agent.original": "user_agent",
    "gen_ai.request.model": "model",
    "gen_ai.operation.name": "endpoint",
    "gen_ai.input.messages": "messages",
    "gen_ai.usage.input_tokens": "input_tokens",
    "gen_ai.usage.output_tokens": "output_tokens",
    "gen_ai.response.id": "request_id",
    "http.response.status_code": "status",
}
PARAM_ATTRIBUTES = {
    "gen_ai.request.temperature": "temperature",
    "gen_ai.request.top_p": "top_p",
    "gen_ai.request.max_tokens": "max_tokens",
    "gen_ai.request.seed": "seed",
    "gen_ai.request.choice.count": "n",
}
_OLD_USER = "enduser.id"
_SYSTEM = "gen_ai.system_instructions"
_OUTPUT = "gen_ai.output.messages"


def any_value(value: Any) -> Any:
    """Decode an OTLP/JSON ``AnyValue``."""
    if not isinstance(value, dict):
        return value
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        raw = value["intValue"]
        try:
            return int(raw)
        except (TypeError, ValueError):
            return raw
    if "doubleValue" in value:
        return value["doubleValue"]
    if "boolValue" in value:
        return value["boolValue"]
    if "arrayValue" in value:
        items = (value["arrayValue"] or {}).get("values") or []
        return [any_value(v) for v in items]
    if "kvlistValue" in value:
        return attributes((value["kvlistValue"] or {}).get("values"))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def attributes(pairs: Any) -> dict[str, Any]:
    """``[{"key": k, "value": AnyValue}, ...]`` as a dict."""
    out: dict[str, Any] = {}
    if isinstance(pairs, list):
        for pair in pairs:
            if isinstance(pair, dict) and isinstance(pair.get("key"), str):
                out[pair["key"]] = any_value(pair.get("value"))
    return out


def _nanos_to_text(value: Any) -> str | None:
    try:
        nanos = int(value)
    except (TypeError, ValueError):
        return None
    try:
        instant = datetime.fromtimestamp(nanos // 1000 / 1e6, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    micros = nanos // 1000
    instant = instant.replace(microsecond=micros % 1_000_000)
    return instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _text(value: Any) -> Any:
    """System instructions or output messages as text (parts joined)."""
    value = _maybe_json(value)
    if isinstance(value, list):
        texts = []
        for item in value:
            if isinstance(item, dict):
                text = (
                    message_text(item)
                    if ("content" in item and "type" not in item) or ("parts" in item)
                    else message_text({"content": [item]})
                )
                if text:
                    texts.append(text)
            elif isinstance(item, str):
                texts.append(item)
        return "\n".join(texts)
    return value


def span_record(span: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any] | None:
    """One GenAI span as an event record; ``None`` for a span that is not GenAI."""
    attrs = attributes(span.get("attributes"))
    if not any(key.startswith("gen_ai.") for key in attrs):
        return None
    record: dict[str, Any] = {}
    ts = _nanos_to_text(span.get("startTimeUnixNano"))
    if ts is not None:
        record["ts"] = ts
    for key, name in ATTRIBUTE_FIELDS.items():
        if key in attrs:
            record[name] = attrs.pop(key)
    if "account_id" not in record and _OLD_USER in attrs:
        record["account_id"] = attrs.pop(_OLD_USER)
    if "messages" in record:
        record["messages"] = _maybe_json(record["messages"])
    if _SYSTEM in attrs:
        record["system_prompt"] = _text(attrs.pop(_SYSTEM))
    if _OUTPUT in attrs:
        record["response"] = _text(attrs.pop(_OUTPUT))
    params = {name: attrs.pop(key) for key, name in PARAM_ATTRIBUTES.items() if key in attrs}
    if params:
        record["params"] = params
    end: Any = span.get("endTimeUnixNano")
    with contextlib.suppress(KeyError, TypeError, ValueError):
        record["latency_ms"] = (int(end) - int(span["startTimeUnixNano"])) / 1e6
    extra = {"trace_id": span.get("traceId"), "span_id": span.get("spanId")}
    extra.update(attrs)
    if "service.name" in resource:
        extra["service.name"] = resource["service.name"]
    record["otel"] = {k: v for k, v in extra.items() if v is not None}
    return record


class OtlpSource(Source):
    """OTLP/JSON trace exports (``--format otlp``)."""

    def blocks(self, batch_rows: int) -> Iterator[Block]:
        from distillguard.events._formats import texts_block

        pending: list[tuple[int, Any]] = []
        for ordinal, record in self._spans():
            pending.append((ordinal, record))
            if len(pending) >= batch_rows:
                yield texts_block(pending)
                pending = []
        if pending:
            yield texts_block(pending)

    def _spans(self) -> Iterator[tuple[int, dict[str, Any]]]:
        ordinal = 0
        for request in self._requests():
            for rs in _list(request.get("resourceSpans")):
                resource = attributes(_dict(rs.get("resource")).get("attributes"))
                for ss in _list(rs.get("scopeSpans")) + _list(
                    rs.get("instrumentationLibrarySpans")
                ):
                    for span in _list(ss.get("spans")):
                        ordinal += 1
                        record = span_record(span, resource) if isinstance(span, dict) else None
                        if record is not None:
                            yield ordinal, record

    def _requests(self) -> Iterator[dict[str, Any]]:
        with open_binary(self.path) as handle:
            try:
                data = handle.read()
            except (OSError, EOFError) as exc:
                raise IngestError(f"cannot read {self.path}: {exc}") from exc
        try:
            whole = orjson.loads(data)
        except orjson.JSONDecodeError:
            whole = None
        if isinstance(whole, dict):
            yield whole
            return
        for line in data.splitlines():
            try:
                request = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(request, dict):
                yield request


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}

"""Errors in the OpenAI error shape, so that SDKs raise their own typed errors.

``{"error": {"message", "type", "param", "code"}}``: the official SDKs map the
HTTP status to an exception class (403 → ``PermissionDeniedError``, 429 →
``RateLimitError``) and show ``message``.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson


@dataclass(frozen=True, slots=True)
class ApiError:
    status: int
    message: str
    type: str
    code: str | None = None
    retry_after: float | None = None

    def body(self) -> bytes:
        return orjson.dumps(
            {
                "error": {
                    "message": self.message,
                    "type": self.type,
                    "param": None,
                    "code": self.code,
                }
            }
        )

    def headers(self) -> list[tuple[bytes, bytes]]:
        out = [(b"content-type", b"application/json")]
        if self.retry_after is not None:
            out.append((b"retry-after", str(max(1, int(self.retry_after + 0.999))).encode()))
        return out


def invalid_key() -> ApiError:
    return ApiError(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")


def forbidden(action: str, reason: str | None) -> ApiError:
    what = "blocked" if action == "block" else "suspended"
    text = f"Access {what} by the provider's abuse policy"
    return ApiError(403, f"{text}: {reason}." if reason else f"{text}.", "permission_error", action)


def rate_limited(kind: str, retry_after: float) -> ApiError:
    return ApiError(
        429,
        f"Rate limit reached for {kind} per minute on this account. "
        f"Please try again in {max(1, round(retry_after))}s.",
        "rate_limit_exceeded" if kind == "requests" else "tokens",
        "rate_limit_exceeded",
        retry_after=retry_after,
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, message, "invalid_request_error")


def not_found(path: str) -> ApiError:
    return ApiError(404, f"Unknown request URL: {path}.", "invalid_request_error", "unknown_url")


def unavailable(message: str) -> ApiError:
    return ApiError(503, message, "server_error", "service_unavailable")


def bad_gateway(message: str) -> ApiError:
    return ApiError(502, message, "server_error", "upstream_error")

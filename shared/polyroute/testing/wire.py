"""The wire dialects the fakes speak: Anthropic Messages, OpenAI Chat Completions, Bedrock Converse and
InvokeModel (the Anthropic Messages body on Bedrock).

Answers are deterministic and echo the last user text, so a test can tell which request produced
which answer. Token counts are a simple chars÷4 estimate: stable, not a tokenizer. Error bodies copy
each provider's real shape, because the SDKs read the error type and code out of them.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from polyroute.testing.server import FakeServer, Reply

_ids = itertools.count(1)


def tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: about four characters per token."""
    return max(1, (len(text) + 3) // 4)


def _obj(value: Any) -> dict[str, Any]:
    """A JSON object as a dict, anything else as an empty one (the fakes never crash on odd bodies)."""
    return cast(dict[str, Any], value) if isinstance(value, dict) else {}


def _texts(content: Any) -> list[str]:
    """Text out of a message's content in any of the three dialects."""
    if isinstance(content, str):
        return [content]
    parts = cast(list[Any], content) if isinstance(content, list) else []
    return [text for part in parts if isinstance(text := _obj(part).get("text"), str)]


def _prompt_texts(body: Any) -> tuple[str, str]:
    """(all input text, the last user text) of a request body."""
    request = _obj(body)
    everything = _texts(request.get("system"))
    last = ""
    for message in cast(list[Any], request.get("messages") or []):
        texts = _texts(_obj(message).get("content"))
        everything += texts
        if _obj(message).get("role") == "user" and texts:
            last = texts[-1]
    return "\n".join(everything), last


def _echo(model: str, last: str, wants_json: bool) -> str:
    if wants_json:
        return json.dumps({"model": model, "echo": last[:200]})
    return f"[{model}] {last[:200]}"


class FakeAnthropic(FakeServer):
    """`POST /v1/messages` and `/v1/messages/count_tokens`; reports `usage.inference_geo`."""

    name = "anthropic"
    _ERRORS = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
               404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
               500: "api_error", 529: "overloaded_error"}

    def model_of(self, method: str, path: str, body: Any) -> str | None:
        if method == "POST" and urlsplit(path).path in ("/v1/messages", "/v1/messages/count_tokens"):
            return _body_model(body)
        return None

    def answer(self, model: str, path: str, body: Any) -> Reply:
        everything, last = _prompt_texts(body)
        if path.startswith("/v1/messages/count_tokens"):
            return Reply(200, {"input_tokens": tokens(everything)})
        text = _echo(model, last, "json" in str(_obj(body).get("system", "")).lower())
        usage = {"input_tokens": tokens(everything), "output_tokens": tokens(text),
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                 "inference_geo": _obj(body).get("inference_geo") or "global"}
        message = {"id": f"msg_fake{next(_ids):06d}", "type": "message", "role": "assistant", "model": model,
                   "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                   "stop_sequence": None, "usage": usage}
        return Reply(200, message, {"request-id": f"req_fake{next(_ids):06d}"})

    def error_reply(self, status: int, code: str | None, message: str) -> Reply:
        error: dict[str, Any] = {"type": self._ERRORS.get(status, "api_error"), "message": message}
        if code:
            error["details"] = {"error_code": code}
        request_id = f"req_fake{next(_ids):06d}"
        body = {"type": "error", "error": error, "request_id": request_id}
        return Reply(status, body, {"request-id": request_id})


class FakeOpenAI(FakeServer):
    """`POST …/chat/completions`, also on Azure's `/openai/deployments/{name}/chat/completions` path."""

    name = "openai"
    _AZURE = re.compile(r"^/openai/deployments/([^/]+)/chat/completions$")
    _ERRORS = {400: ("invalid_request_error", None), 401: ("invalid_request_error", "invalid_api_key"),
               403: ("invalid_request_error", "unsupported_country_region_territory"),
               404: ("invalid_request_error", "model_not_found"), 429: ("requests", "rate_limit_exceeded"),
               500: ("server_error", None), 503: ("server_error", None)}

    def model_of(self, method: str, path: str, body: Any) -> str | None:
        route = urlsplit(path).path
        azure = self._AZURE.match(route)
        if method != "POST":
            return None
        if azure:
            return unquote(azure.group(1))
        return _body_model(body) if route.endswith("/chat/completions") else None

    def answer(self, model: str, path: str, body: Any) -> Reply:
        everything, last = _prompt_texts(body)
        wants_json = _obj(_obj(body).get("response_format")).get("type") == "json_object"
        text = _echo(model, last, wants_json)
        usage = {"prompt_tokens": tokens(everything), "completion_tokens": tokens(text),
                 "total_tokens": tokens(everything) + tokens(text),
                 "prompt_tokens_details": {"cached_tokens": 0},
                 "completion_tokens_details": {"reasoning_tokens": 0}}
        completion = {"id": f"chatcmpl-fake{next(_ids):06d}", "object": "chat.completion",
                      "created": int(time.time()), "model": model, "usage": usage,
                      "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                                   "message": {"role": "assistant", "content": text, "refusal": None}}]}
        return Reply(200, completion, {"x-request-id": f"req_fake{next(_ids):06d}"})

    def error_reply(self, status: int, code: str | None, message: str) -> Reply:
        kind, default_code = self._ERRORS.get(status, ("server_error", None))
        error = {"message": message, "type": kind, "param": None, "code": code or default_code}
        return Reply(status, {"error": error}, {"x-request-id": f"req_fake{next(_ids):06d}"})


class FakeBedrock(FakeServer):
    """`POST /model/{url-encoded id}/converse`, `/invoke` (the Anthropic Messages body, which must carry
    `anthropic_version: bedrock-2023-05-31` and no `model`) and `/count-tokens`; errors typed by
    `x-amzn-ErrorType`, as on the real service, for every path."""

    name = "bedrock"
    _PATH = re.compile(r"^/model/([^/]+)/(converse|invoke|count-tokens)$")
    _ERRORS = {400: "ValidationException", 403: "AccessDeniedException", 404: "ResourceNotFoundException",
               408: "ModelTimeoutException", 424: "ModelErrorException", 429: "ThrottlingException",
               500: "InternalServerException", 503: "ServiceUnavailableException"}

    def model_of(self, method: str, path: str, body: Any) -> str | None:
        match = self._PATH.match(urlsplit(path).path)
        return unquote(match.group(1)) if method == "POST" and match else None

    def answer(self, model: str, path: str, body: Any) -> Reply:
        everything, last = _prompt_texts(body)
        if path.endswith("/count-tokens"):
            return Reply(200, {"inputTokens": tokens(everything)})
        if path.endswith("/invoke"):
            return self._invoke(model, body, everything, last)
        wants_json = "json" in str(_obj(body).get("system", "")).lower()
        text = _echo(model, last, wants_json)
        usage = {"inputTokens": tokens(everything), "outputTokens": tokens(text),
                 "totalTokens": tokens(everything) + tokens(text),
                 "cacheReadInputTokens": 0, "cacheWriteInputTokens": 0}
        converse = {"output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                    "stopReason": "end_turn", "usage": usage, "metrics": {"latencyMs": 1}}
        return Reply(200, converse, {"x-amzn-requestid": f"fake-{next(_ids):06d}"})

    def _invoke(self, model: str, body: Any, everything: str, last: str) -> Reply:
        """InvokeModel with an Anthropic body: Bedrock's ValidationException for what it rejects."""
        request = _obj(body)
        if request.get("anthropic_version") != "bedrock-2023-05-31" or "model" in request:
            problem = "extraneous key [model] is not permitted" if "model" in request else (
                "anthropic_version: bedrock-2023-05-31 is required")
            return self.error_reply(400, "ValidationException", f"Malformed input request: {problem}")
        text = _echo(model, last, "json" in str(request.get("system", "")).lower())
        usage = {"input_tokens": tokens(everything), "output_tokens": tokens(text),
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        message = {"id": f"msg_bdrk_fake{next(_ids):06d}", "type": "message", "role": "assistant",
                   "model": model, "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                   "stop_sequence": None, "usage": usage}
        headers = {"x-amzn-requestid": f"fake-{next(_ids):06d}",
                   "x-amzn-bedrock-input-token-count": str(usage["input_tokens"]),
                   "x-amzn-bedrock-output-token-count": str(usage["output_tokens"])}
        return Reply(200, message, headers)

    def error_reply(self, status: int, code: str | None, message: str) -> Reply:
        kind = code or self._ERRORS.get(status, "InternalServerException")
        headers = {"x-amzn-errortype": f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/",
                   "x-amzn-requestid": f"fake-{next(_ids):06d}"}
        return Reply(status, {"message": message}, headers)


def _body_model(body: Any) -> str:
    model = _obj(body).get("model")
    return model if isinstance(model, str) else ""

"""Input token counts for a deployment: exact offline, estimated offline, or from the provider's API.

Offline (`count_tokens`, `request_tokens`): exact for OpenAI model families (o200k / cl100k,
hash-checked, see `tokenizer`); otherwise `heuristic.estimate`: the o200k-calibrated estimate with
hard bounds for unusual input, mapped to the model's tokenizer family by ratio ranges measured on the
calibration corpus (Claude v3 / v4.8), with a band that covers the whole range.
Only `count_tokens_via_api` calls out — Anthropic's `POST /v1/messages/count_tokens`, when a key is
configured — and only cost estimates on request use it, never routing: it is a network call.
The `anthropic` SDK is imported on first use.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from polyroute import heuristic, textscan, tokenizer
from polyroute.errors import ConfigError, ProviderHTTPError, ProviderTimeout

if TYPE_CHECKING:
    from polyroute.catalog import Deployment
    from polyroute.residency import Policy
    from polyroute.settings import Defaults, Settings
    from polyroute.types import CompletionRequest, Message

TIMEOUT_S = 10.0
MESSAGE_OVERHEAD = 3  # OpenAI chat format: tokens framing each message, and priming the reply


class TokenCount(BaseModel):
    """Input tokens and how they were counted."""

    model_config = ConfigDict(frozen=True)
    tokens: int = Field(ge=0)
    method: Literal["exact", "provider_api", "heuristic"]
    tokenizer: str
    error_band: float = Field(ge=0, le=1, description="relative, e.g. 0.15 = ±15 %; 0 when exact")
    calibrated_calls: int = Field(
        default=0, ge=0, description="completed calls to the model this heuristic count was calibrated "
        "from (`usagecalibration`); 0: not calibrated",
    )  # fmt: skip


def _family(deployment: Deployment) -> heuristic.Family:
    """Which measured ratio range applies: Claude by tokenizer generation, else unknown (wide)."""
    return heuristic.family_of(deployment.model)


_UNMAPPED_OPENAI_BAND = 0.10
"""An OpenAI model newer than any published encoding map (e.g. gpt-6-*): counted with o200k, the
encoding of every OpenAI family since gpt-4o, as an assumption with a band, not as exact."""
_UNMAPPED_TOKENIZER = "o200k_base (assumed: no published encoding for this model)"


def _is_openai_family(deployment: Deployment) -> bool:
    name = deployment.model.lower()
    return deployment.provider in ("openai", "azure_openai") and (
        name.startswith(("gpt-", "chatgpt-")) or (len(name) > 1 and name[0] == "o" and name[1].isdigit())
    )


def counting_key(deployment: Deployment) -> str:
    """Deployments with equal keys count any text the same way (so a comparison counts it once)."""
    encoding = tokenizer.encoding_for_model(deployment.model)
    if encoding is not None:
        return encoding
    return "openai-unmapped" if _is_openai_family(deployment) else _family(deployment)


_EXACT_KEYS: dict[str, tokenizer.EncodingName] = {
    "o200k_base": "o200k_base", "cl100k_base": "cl100k_base", "openai-unmapped": "o200k_base",
}  # fmt: skip
"""The counting keys counted with a BPE encoding (an OpenAI model newer than any map: with o200k)."""


def count_tokens(text: str, deployment: Deployment) -> TokenCount:
    """Input tokens of `text` for `deployment`, offline: exact where a tokenizer exists, else estimated."""
    key = counting_key(deployment)
    encoding = _EXACT_KEYS.get(key)
    if encoding is not None:
        return _exact_count(key, encoding, tokenizer.count_exact(text, encoding))
    return _heuristic(text, cast(heuristic.Family, key))


def _heuristic(text: str, family: heuristic.Family) -> TokenCount:
    return _heuristic_count(heuristic.estimate(text, family), family)


def _heuristic_count(found: heuristic.Estimate, family: heuristic.Family) -> TokenCount:
    measured = "" if family.startswith("claude") else " (assumed ratio, not measured)"
    return TokenCount(
        tokens=found.tokens,
        method="heuristic",
        tokenizer=f"estimate:{family}/{found.label}{measured}",
        error_band=found.band,
    )


def request_tokens(deployment: Deployment, request: CompletionRequest) -> TokenCount:
    """`count_tokens` over a whole request; OpenAI families add the chat format's per-message framing."""
    key = counting_key(deployment)
    encoding = _EXACT_KEYS.get(key)
    if encoding is None:
        return _heuristic(request.text(), cast(heuristic.Family, key))
    return _exact_count(key, encoding, _framed_tokens(request, encoding))


def counts_by_key(keys: Iterable[str], request: CompletionRequest) -> dict[str, TokenCount]:
    """`request_tokens` for a deployment of each counting key (in the order first given), sharing the
    work within the request: each message is encoded once per encoding (o200k serves "openai-unmapped"
    too) and the heuristic's scan of the text (`textscan`) is made once for every family."""
    found: dict[str, TokenCount] = {}
    exact: dict[str, int] = {}
    scan: textscan.Scan | None = None
    text: str | None = None
    for key in keys:
        if key in found:
            continue
        encoding = _EXACT_KEYS.get(key)
        if encoding is not None:
            if encoding not in exact:
                exact[encoding] = _framed_tokens(request, encoding)
            found[key] = _exact_count(key, encoding, exact[encoding])
            continue
        family = cast(heuristic.Family, key)
        text = request.text() if text is None else text
        if not text:
            found[key] = _heuristic_count(heuristic.EMPTY, family)
            continue
        scan = scan or textscan.scan(text)
        found[key] = _heuristic_count(heuristic.estimate_scan(scan, family), family)
    return found


def _framed_tokens(request: CompletionRequest, encoding: tokenizer.EncodingName) -> int:
    """The chat format's count of a request: each message's text, plus the framing `request_tokens` adds."""
    texts = ([request.system] if request.system else []) + [m.text() for m in request.messages]
    return sum(tokenizer.count_exact(text, encoding) for text in texts) + MESSAGE_OVERHEAD * (len(texts) + 1)


def _exact_count(key: str, encoding: tokenizer.EncodingName, tokens: int) -> TokenCount:
    if key == "openai-unmapped":
        return TokenCount(tokens=tokens, method="heuristic", tokenizer=_UNMAPPED_TOKENIZER,
                          error_band=_UNMAPPED_OPENAI_BAND)  # fmt: skip
    return TokenCount(tokens=tokens, method="exact", tokenizer=encoding, error_band=0.0)


def api_count_refusal(
    policy: Policy,
    defaults: Defaults,
    deployment: Deployment,
    jurisdiction: str | None,
    data_class: str | None,
) -> str | None:
    """Why this text may not go to the deployment's count-tokens API (None when it may).

    Counting sends the text to the provider, so it is held to the same residency rule as a call, with
    the same defaults as routing: the config's `[defaults]`, else public.
    """
    where = jurisdiction or defaults.jurisdiction
    kind = data_class or defaults.data_class or "public"
    if where is None and kind == "public":
        return None  # unclassified requests are public, as routing treats them
    verdict = policy.check(where or "unspecified", kind, deployment, deployment_id=deployment.id)
    if verdict.allowed:
        return None
    return f"counted offline: {where} {kind} data may not go to {deployment.id}, not even to count its tokens"


async def count_tokens_via_api(
    deployment: Deployment, request: CompletionRequest, settings: Settings | None = None
) -> TokenCount | None:
    """Exact input tokens from the provider's count-tokens API, or None when it has none / no key is set.

    Anthropic only (`POST /v1/messages/count_tokens`); base URL from the deployment, else the SDK's
    ANTHROPIC_BASE_URL. Raises ProviderError when the API answers with an error.
    """
    tokens = await anthropic_count(deployment, request, settings)
    if tokens is None:
        return None
    return TokenCount(
        tokens=tokens, method="provider_api", tokenizer="anthropic count_tokens API", error_band=0.0
    )


def api_key(deployment: Deployment, settings: Settings | None) -> str | None:
    """The deployment's key (env var, then keyring) or None when none is configured."""
    from polyroute import secrets

    try:
        return secrets.api_key(deployment, settings)
    except ConfigError:
        return None


async def anthropic_count(
    deployment: Deployment, request: CompletionRequest, settings: Settings | None
) -> int | None:
    """`POST /v1/messages/count_tokens` through the SDK; None for non-Anthropic deployments or no key."""
    if deployment.provider != "anthropic":
        return None
    key = api_key(deployment, settings)
    if key is None:
        return None
    import anthropic

    client = anthropic.AsyncAnthropic(
        api_key=key, base_url=deployment.base_url, max_retries=1, timeout=TIMEOUT_S
    )
    try:
        result = await client.messages.count_tokens(
            model=deployment.api_model,
            messages=[_message(m) for m in request.messages],
            system=request.system or anthropic.omit,
        )
    except anthropic.APIStatusError as error:
        raise ProviderHTTPError(
            f"anthropic count_tokens answered {error.status_code}",
            deployment=deployment.id,
            status=error.status_code,
        ) from None
    except anthropic.APIConnectionError:
        raise ProviderTimeout("anthropic count_tokens: no answer", deployment=deployment.id) from None
    finally:
        await client.close()
    return int(result.input_tokens)


def _message(message: Message) -> Any:
    """A Message in the Messages API's shape (text and base64 images)."""
    if isinstance(message.content, str):
        return {"role": message.role, "content": message.content}
    blocks: list[dict[str, Any]] = []
    for part in message.content:
        if part.type == "text":
            blocks.append({"type": "text", "text": part.text})
        else:
            blocks.append(
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": part.media_type, "data": part.data},
                }
            )
    return {"role": message.role, "content": blocks}


__all__ = [
    "MESSAGE_OVERHEAD",
    "TokenCount",
    "anthropic_count",
    "api_key",
    "count_tokens",
    "count_tokens_via_api",
    "counting_key",
    "counts_by_key",
    "request_tokens",
]

"""The Anthropic Messages body on Bedrock's InvokeModel (`POST /model/{id}/invoke`), for Claude models
whose documented call path is the Messages API rather than Converse.

AWS documents the Messages API on the `bedrock-runtime` endpoint as InvokeModel with the Anthropic
request body plus `"anthropic_version": "bedrock-2023-05-31"` (the model id travels in the path, not
the body), answered with the Anthropic message and its `usage` (`input_tokens`, `output_tokens`,
`cache_read_input_tokens`, `cache_creation_input_tokens`), read by `messageswire` as for the Anthropic
API. Sources and check dates: data/deployments.toml `[sources.bedrock-messages-api]` and
`[sources.bedrock-apis]`.
"""

from __future__ import annotations

import json
from typing import Any

from polyroute.catalog import Deployment
from polyroute.providers import messageswire
from polyroute.types import CompletionRequest

ANTHROPIC_VERSION = "bedrock-2023-05-31"


def invoke_args(deployment: Deployment, request: CompletionRequest) -> dict[str, Any]:
    """Keyword arguments for boto3's `invoke_model`: the model id and the JSON Messages body."""
    body = {"anthropic_version": ANTHROPIC_VERSION, **messageswire.request_body(deployment, request)}
    return {
        "modelId": deployment.api_model,
        "body": json.dumps(body).encode(),
        "contentType": "application/json",
        "accept": "application/json",
    }

"""BedrockProvider: real boto3 (SigV4, rest-json) against the fake Converse API."""

from __future__ import annotations

import base64

import pytest
from provider_fixtures import PNG_1PX, complete, deployment, picture, request

from polyroute.catalog import Deployment
from polyroute.errors import ProviderError, ProviderHTTPError
from polyroute.providers import Providers
from polyroute.testing import FakeProviders, Fault
from polyroute.types import CompletionRequest

PROFILE = "eu.anthropic.claude-sonnet-4-6-v1:0"
INVOKED = "eu.anthropic.claude-sonnet-5-5"  # a model Bedrock documents on InvokeModel (the Messages body)
EU = deployment("bedrock", PROFILE, aws_region="eu-central-1")


def test_request_shape_path_signature_and_body(providers: Providers, env: FakeProviders) -> None:
    req = CompletionRequest.model_validate(
        {
            "system": "Be brief.",
            "max_tokens": 99,
            "temperature": 0.1,
            "messages": [
                {
                    "role": "user",
                    "content": picture("Look"),
                }
            ],
        }
    )
    completion, _ = complete(providers, EU, req)
    (seen,) = env.bedrock.seen()
    assert seen.path == "/model/eu.anthropic.claude-sonnet-4-6-v1%3A0/converse"
    assert seen.model == PROFILE
    auth = seen.headers["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256") and "/eu-central-1/bedrock/aws4_request" in auth
    assert seen.body["system"] == [{"text": "Be brief."}]
    assert seen.body["inferenceConfig"] == {"maxTokens": 99, "temperature": 0.1}
    text, image = seen.body["messages"][0]["content"]
    assert text == {"text": "Look"} and image["image"]["format"] == "png"
    assert base64.b64decode(image["image"]["source"]["bytes"]) == base64.b64decode(PNG_1PX)
    assert completion.text == f"[{PROFILE}] Look" and completion.stop_reason == "end_turn"
    assert completion.usage.input_tokens > 0 and completion.request_id and completion.model == PROFILE


def test_deployment_base_url_beats_the_environment(
    providers: Providers, env: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://127.0.0.1:9")
    pinned = deployment("bedrock", PROFILE, aws_region="eu-west-1", base_url=env.bedrock.url)
    complete(providers, pinned)
    assert "/eu-west-1/bedrock/" in env.bedrock.seen()[0].headers["authorization"]


# Converse and InvokeModel share one call path (`BedrockProvider._send`): its failures map alike.
BOTH = pytest.mark.parametrize(
    "target", [EU, deployment("bedrock", INVOKED, aws_region="eu-central-1", bedrock_api="invoke")],
    ids=["converse", "invoke"],
)  # fmt: skip


@BOTH
@pytest.mark.parametrize(
    ("status", "code"),
    [(429, "ThrottlingException"), (503, "ServiceUnavailableException"), (500, "InternalServerException")],
)
def test_throttling_and_unavailable_are_retried_without_boto_retries(
    providers: Providers, env: FakeProviders, target: Deployment, status: int, code: str
) -> None:
    env.bedrock.inject(target.api_model, Fault(status=status, times=None, retry_after=0))
    with pytest.raises(ProviderHTTPError) as caught:
        complete(providers, target)
    assert caught.value.code == code and caught.value.retryable and caught.value.status == status
    assert len(env.bedrock.seen()) == 3, "boto3's own retries must be off"


@BOTH
@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "ValidationException"), (403, "AccessDeniedException"), (404, "ResourceNotFoundException")],
)
def test_client_errors_are_final(
    providers: Providers, env: FakeProviders, target: Deployment, status: int, code: str
) -> None:
    env.bedrock.inject(target.api_model, Fault(status=status, message=f"nope {code}"))
    with pytest.raises(ProviderHTTPError, match=f"{status} {code}: nope") as caught:
        complete(providers, target)
    assert (caught.value.status, caught.value.code, caught.value.retryable) == (status, code, False)
    assert len(env.bedrock.seen()) == 1


@BOTH
def test_reset_and_malformed_are_retryable(
    providers: Providers, env: FakeProviders, target: Deployment
) -> None:
    env.bedrock.inject(target.api_model, Fault(reset=True))
    env.bedrock.inject(target.api_model, Fault(malformed=True))
    completion, attempts = complete(providers, target, request("third time lucky"))
    assert [a.ok for a in attempts] == [False, False, True] and completion.text.endswith("third time lucky")


def test_missing_aws_credentials_is_a_clear_final_error(
    providers: Providers, env: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(ProviderError, match="no AWS credentials") as caught:
        complete(providers, EU)
    assert not caught.value.retryable and env.bedrock.seen() == []


def test_the_general_aws_endpoint_variable_is_honoured_too(
    providers: Providers, env: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
    monkeypatch.setenv("AWS_ENDPOINT_URL", env.bedrock.url)
    completion, _ = complete(providers, EU)
    assert completion.text and len(env.bedrock.seen()) == 1

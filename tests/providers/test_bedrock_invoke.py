"""BedrockProvider's InvokeModel path: real boto3 `invoke_model` (SigV4, the Anthropic Messages body)
against the fake's `/model/{id}/invoke`, for deployments whose `bedrock_api` is `invoke`. Failures map as
on Converse (one call path): test_bedrock.py runs those tests on both."""

from __future__ import annotations

from provider_fixtures import PNG_1PX, complete, deployment, picture, request

from polyroute.providers import Providers
from polyroute.testing import FakeProviders, Fault
from polyroute.types import CompletionRequest

PROFILE = "eu.anthropic.claude-sonnet-5-5"
EU = deployment("bedrock", PROFILE, aws_region="eu-central-1", bedrock_api="invoke")


def test_messages_body_path_and_signature(providers: Providers, env: FakeProviders) -> None:
    req = CompletionRequest.model_validate(
        {
            "system": "Be brief.",
            "max_tokens": 77,
            "temperature": 0.2,
            "messages": [
                {"role": "user", "content": "first"},
                {"role": "assistant", "content": "ok"},
                {
                    "role": "user",
                    "content": picture("Look"),
                },
            ],
        }
    )
    completion, _ = complete(providers, EU, req)
    (seen,) = env.bedrock.seen()
    assert seen.path == "/model/eu.anthropic.claude-sonnet-5-5/invoke" and seen.model == PROFILE
    auth = seen.headers["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256") and "/eu-central-1/bedrock/aws4_request" in auth
    assert "x-amz-date" in seen.headers and seen.headers["content-type"] == "application/json"
    body = seen.body
    assert body["anthropic_version"] == "bedrock-2023-05-31" and "model" not in body
    assert (body["system"], body["max_tokens"], body["temperature"]) == ("Be brief.", 77, 0.2)
    assert body["messages"][0] == {"role": "user", "content": "first"}
    text, image = body["messages"][2]["content"]
    assert text == {"type": "text", "text": "Look"}
    source = {"type": "base64", "media_type": "image/png", "data": PNG_1PX}
    assert image == {"type": "image", "source": source}
    assert completion.text == f"[{PROFILE}] Look" and completion.stop_reason == "end_turn"
    assert completion.provider == "bedrock" and completion.model == PROFILE and completion.request_id


def test_usage_comes_from_the_messages_usage_fields(providers: Providers, env: FakeProviders) -> None:
    env.bedrock.inject(PROFILE, Fault(input_tokens=4321))
    completion, _ = complete(providers, EU, request("count me"))
    assert completion.usage.input_tokens == 4321
    assert completion.usage.output_tokens > 0
    assert (completion.usage.cache_read_tokens, completion.usage.cache_write_tokens) == (0, 0)


def test_no_temperature_and_no_system_are_left_out(providers: Providers, env: FakeProviders) -> None:
    complete(providers, EU, request("plain"))
    body = env.bedrock.seen()[0].body
    assert "temperature" not in body and "system" not in body
    assert body["messages"] == [{"role": "user", "content": "plain"}]


def test_json_output_asks_through_the_system_prompt(providers: Providers, env: FakeProviders) -> None:
    completion, _ = complete(providers, EU, request("give json", response_format="json"))
    assert "JSON" in env.bedrock.seen()[0].body["system"]
    assert completion.text.startswith("{")


def test_the_fake_rejects_a_body_bedrock_would_reject(env: FakeProviders) -> None:
    """The fake enforces the body the docs require: a `model` in the body or a missing version is a
    ValidationException, so the adapter's body is checked by the wire, not only by this test file."""
    reply = env.bedrock.answer(PROFILE, f"/model/{PROFILE}/invoke", {"max_tokens": 1, "messages": []})
    assert reply.status == 400 and reply.headers["x-amzn-errortype"].startswith("ValidationException:")
    reply = env.bedrock.answer(
        PROFILE, f"/model/{PROFILE}/invoke", {"anthropic_version": "bedrock-2023-05-31", "model": "x"}
    )
    assert reply.status == 400 and "extraneous key [model]" in reply.payload["message"]


def test_converse_stays_the_default(providers: Providers, env: FakeProviders) -> None:
    plain = deployment("bedrock", PROFILE, aws_region="eu-central-1")
    assert plain.bedrock_api is None
    complete(providers, plain)
    assert env.bedrock.seen()[0].path.endswith("/converse")


def test_the_old_messages_value_means_invoke() -> None:
    legacy = deployment("bedrock", PROFILE, aws_region="eu-central-1", bedrock_api="messages")
    assert legacy.bedrock_api == "invoke"

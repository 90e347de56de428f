"""Wire-level fake providers on loopback, for tests, benchmarks and the demo (a local stand-in, not a model).

    with FakeProviders() as fakes:
        os.environ.update(fakes.env())      # the SDKs now talk to the fakes
        fakes.anthropic.inject("claude-sonnet-4-6", Fault(status=529))
        ...
        fakes.anthropic.seen()              # what the SDK actually sent

No vendor SDK is imported here; the fakes are plain `http.server` threads.
"""

from __future__ import annotations

from polyroute.testing.server import FakeServer, Fault, Recorded, Reply
from polyroute.testing.wire import FakeAnthropic, FakeBedrock, FakeOpenAI, tokens

DUMMY_KEYS = {
    "ANTHROPIC_API_KEY": "sk-ant-fake-local-stand-in",
    "OPENAI_API_KEY": "sk-fake-local-stand-in",
    "AZURE_OPENAI_API_KEY": "fake-azure-local-stand-in",
    "AWS_ACCESS_KEY_ID": "AKIAFAKELOCALSTANDIN",
    "AWS_SECRET_ACCESS_KEY": "fake-secret-local-stand-in",
}


class FakeProviders:
    """All three fakes at once, started and stopped together."""

    def __init__(self) -> None:
        self.anthropic = FakeAnthropic()
        self.openai = FakeOpenAI()
        self.bedrock = FakeBedrock()

    @property
    def servers(self) -> tuple[FakeServer, ...]:
        return (self.anthropic, self.openai, self.bedrock)

    def start(self) -> FakeProviders:
        for server in self.servers:
            server.start()
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def __enter__(self) -> FakeProviders:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def clear(self) -> None:
        for server in self.servers:
            server.clear()

    def env(self, *, keys: bool = True) -> dict[str, str]:
        """Variables pointing every SDK at the fakes, plus dummy credentials unless `keys=False`."""
        env = {
            "ANTHROPIC_BASE_URL": self.anthropic.url,
            "OPENAI_BASE_URL": f"{self.openai.url}/v1",
            "AZURE_OPENAI_ENDPOINT": self.openai.url,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": self.bedrock.url,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        return {**env, **DUMMY_KEYS} if keys else env


__all__ = [
    "DUMMY_KEYS",
    "FakeAnthropic",
    "FakeBedrock",
    "FakeOpenAI",
    "FakeProviders",
    "FakeServer",
    "Fault",
    "Recorded",
    "Reply",
    "tokens",
]

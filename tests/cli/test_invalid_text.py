"""Text a provider could never receive (a lone surrogate from a non-UTF-8 terminal) is a usage error."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from polyroute.tokenizer import count_exact
from polyroute.types import CompletionRequest

LONE_SURROGATE = "caf\udce9"  # what Python makes of the byte 0xE9 in a UTF-8 locale's argv


def test_completion_request_refuses_text_that_is_not_utf8() -> None:
    with pytest.raises(ValidationError, match="not valid UTF-8"):
        CompletionRequest.from_prompt(LONE_SURROGATE)
    with pytest.raises(ValidationError, match="not valid UTF-8"):
        CompletionRequest.from_prompt("ok", system=LONE_SURROGATE)


def test_exact_count_never_crashes_on_a_lone_surrogate() -> None:
    assert count_exact(LONE_SURROGATE, "o200k_base") == count_exact("caf\ufffd", "o200k_base")


@pytest.mark.parametrize(
    "args",
    [
        ["complete", "--prompt", LONE_SURROGATE],
        [
            "cost",
            "estimate",
            "--deployment",
            "openai-eu-gpt-6-1-sol",
            "--prompt",
            LONE_SURROGATE,
            "--output-tokens",
            "5",
        ],
    ],
)
def test_cli_says_one_line_and_exits_2(args: list[str]) -> None:
    entry = "import sys; from polyroute_servers.cli import main; sys.exit(main())"
    argv = [sys.executable, "-c", entry, *args]
    run = subprocess.run(argv, capture_output=True, text=True, errors="surrogateescape", timeout=60)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stderr.strip().count("\n") == 0
    assert "not valid UTF-8" in run.stderr

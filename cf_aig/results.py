"""What a finished call returns: chat, ``/ai/run`` and embeddings results.

Each carries the gateway's :class:`~cf_aig.options.GatewayInfo` (log id, cache status...).

>>> from cf_aig.options import GatewayInfo
>>> ChatResult({"choices": [{"message": {"content": "Hi"}}]}, GatewayInfo()).text
'Hi'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .options import GatewayInfo
from .types import ChatCompletion


@dataclass(slots=True)
class ChatResult:
    """A canonical ``chat.completion`` plus what the gateway said about it.

    >>> r = ChatResult({"choices": [{"message": {"role": "assistant", "content": "Hi"}}]},
    ...                GatewayInfo(log_id="019a"))
    >>> r.text, r.info.log_id
    ('Hi', '019a')
    """

    completion: ChatCompletion
    info: GatewayInfo

    @property
    def text(self) -> str:
        """The first choice's text content ('' when none)."""
        choices = self.completion.get("choices") or [{}]
        content = (choices[0].get("message") or {}).get("content")
        return content if isinstance(content, str) else ""


@dataclass(slots=True)
class RunResult:
    """An ``/ai/run`` result: the model's output (envelope removed), or bytes if binary.

    >>> RunResult({"response": "Hello"}, GatewayInfo()).result["response"]
    'Hello'
    """

    result: Any
    info: GatewayInfo
    content_type: str = "application/json"


@dataclass(slots=True)
class EmbeddingResult:
    """Vectors in input order, the token usage, and the gateway info of each batch.

    >>> EmbeddingResult(vectors=[[0.6, 0.8]], model="@cf/baai/bge-small-en-v1.5").vectors
    [[0.6, 0.8]]
    """

    vectors: list[list[float]]
    model: str
    usage: dict[str, int] = field(default_factory=dict)
    infos: list[GatewayInfo] = field(default_factory=list)


__all__ = ["ChatResult", "EmbeddingResult", "RunResult"]

"""Small tools shared by the adapter tests."""

from __future__ import annotations

from llama_index.core.tools import FunctionTool
from pydantic import BaseModel


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


ADD = FunctionTool.from_defaults(fn=add)
MULTIPLY = FunctionTool.from_defaults(fn=multiply)


class Song(BaseModel):
    """A song."""

    title: str
    length_seconds: int

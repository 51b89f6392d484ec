"""The hint an adapter gives when its framework is not installed.

>>> err = missing_extra(ModuleNotFoundError("No module named 'llama_index'",
...                                         name="llama_index"), "llama-index")
>>> print(err)
No module named 'llama_index': install the extra with pip install "cf-aig[llama-index]"
"""

from __future__ import annotations

ROOTS = {"langchain": ("langchain_core", "langchain"), "llama-index": ("llama_index",)}
"""Extra → top-level modules it brings."""


def missing_extra(exc: ModuleNotFoundError, extra: str) -> ModuleNotFoundError:
    """``exc`` again, its message naming the ``cf-aig`` extra that brings the missing module
    (``exc`` unchanged when the missing module is not the extra's framework)."""
    if (exc.name or "").split(".")[0] not in ROOTS[extra]:
        return exc
    message = f'{exc.msg}: install the extra with pip install "cf-aig[{extra}]"'
    return ModuleNotFoundError(message, name=exc.name, path=exc.path)

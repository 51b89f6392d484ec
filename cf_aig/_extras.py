"""The hint an adapter gives when its framework is not installed, and the lazy exports
of the three packages (``cf_aig``, ``langchain_cf_aig``, ``llama_index_cf_aig``).

>>> err = missing_extra(ModuleNotFoundError("No module named 'llama_index'",
...                                         name="llama_index"), "llama-index")
>>> print(err)
No module named 'llama_index': install the extra with pip install "cf-aig[llama-index]"
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Any

ROOTS = {"langchain": ("langchain_core", "langchain"), "llama-index": ("llama_index",)}
"""Extra → top-level modules it brings."""


def missing_extra(exc: ModuleNotFoundError, extra: str) -> ModuleNotFoundError:
    """``exc`` again, its message naming the ``cf-aig`` extra that brings the missing module
    (``exc`` unchanged when the missing module is not the extra's framework)."""
    if (exc.name or "").split(".")[0] not in ROOTS[extra]:
        return exc
    message = f'{exc.msg}: install the extra with pip install "cf-aig[{extra}]"'
    return ModuleNotFoundError(message, name=exc.name, path=exc.path)


class LazyExports:
    """A package's names that load on first use: its module ``__getattr__`` and ``__dir__``
    call :meth:`load` and :meth:`names`. ``lazy`` maps a name to its module (``"client"``
    is a submodule of the package, ``"cf_aig.errors"`` an absolute module); with ``extra``,
    a missing framework names the ``cf-aig`` extra that brings it.

    >>> ns = {"__name__": "cf_aig", "__all__": ["Client"]}
    >>> lazy = LazyExports(ns, {"Client": "client"})
    >>> lazy.load("Client").__name__, "Client" in ns, lazy.names()
    ('Client', True, ['Client', '__all__', '__name__'])
    """

    __slots__ = ("_extra", "_lazy", "_namespace")

    def __init__(self, namespace: dict[str, Any], lazy: Mapping[str, str],
                 extra: str | None = None) -> None:
        self._namespace, self._lazy, self._extra = namespace, lazy, extra

    def load(self, name: str) -> Any:
        """The value of ``name`` (imported now, then kept in the package's namespace)."""
        package = self._namespace["__name__"]
        target = self._lazy.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        try:
            module = import_module(target if "." in target else f".{target}", package)
        except ModuleNotFoundError as exc:
            if self._extra is None:
                raise
            raise missing_extra(exc, self._extra) from None
        value = getattr(module, name)
        self._namespace[name] = value
        return value

    def names(self) -> list[str]:
        """What ``dir()`` of the package lists: what it holds and every lazy name."""
        return sorted({*self._namespace, *self._namespace.get("__all__", ())})

"""The API token every LlamaIndex test LLM uses (asserted absent from serialized output).

A module of its own, not ``conftest``: two test folders each have a ``conftest`` module,
so ``from conftest import ...`` breaks when both folders are collected in one run.
"""

TOKEN = "li-test-token-0123456789"

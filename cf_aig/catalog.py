"""The Workers AI model catalogue: refresh from Cloudflare, cache on disk, feed profiles.

``GET /accounts/{id}/ai/models/search`` lists models with their task and properties
(``context_window``, ``function_calling``, ``vision``, ``reasoning``, ``async_queue``,
``require_workers_paid``...); ``GET /ai/models/schema?model=<id>`` gives one model's input
and output JSON Schema (reference §2, §6). :func:`refresh` reads both (schemas for
text-generation models only), saves the result with its date to the cache file, and
:func:`cf_aig.profiles.get_profile` then prefers those facts over the bundled table. With
no cache file the bundled table is the offline default.

Cache file: ``$CF_AIG_CACHE_DIR/catalog.json``, else ``$XDG_CACHE_HOME/cf-aig/catalog.json``,
else ``~/.cache/cf-aig/catalog.json``.

>>> entry = entry_from_search({"name": "@cf/acme/model", "task": {"name": "Text Generation"},
...     "properties": [{"property_id": "context_window", "value": "32000"},
...                    {"property_id": "function_calling", "value": "true"}]})
>>> entry.id, entry.context_window, entry.tools, entry.vision
('@cf/acme/model', 32000, True, False)
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Generator, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ResponseDecodeError

if TYPE_CHECKING:
    import httpx

    from ._protocol import Action, Core
    from .client import AsyncClient, Client

ENV_CACHE_DIR = "CF_AIG_CACHE_DIR"
PER_PAGE = 100
MAX_PAGES = 50
TEXT_GENERATION = "Text Generation"


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One model as the catalogue describes it.

    >>> CatalogEntry("@cf/a/b", task="Text Generation", tools=True).row()[:3]
    ['@cf/a/b', 'Text Generation', '-']
    """

    id: str
    task: str | None = None
    context_window: int | None = None
    tools: bool = False
    vision: bool = False
    batch: bool = False
    reasoning: bool = False
    workers_paid: bool = False
    json_schema: bool | None = None
    """From the model's input schema (``response_format``), when it was fetched."""
    output_family: str | None = None
    """``chat`` (a ``choices`` output) or ``classic`` (a ``response`` output), from the
    model's output schema, when it was fetched."""
    description: str | None = None

    def row(self) -> list[str]:
        """The CLI table row: id, task, context window, tools, vision, batch, reasoning."""
        def yes(flag: bool) -> str:
            return "yes" if flag else "-"

        window = f"{self.context_window:,}" if self.context_window else "-"
        return [self.id, self.task or "-", window, yes(self.tools), yes(self.vision),
                yes(self.batch), yes(self.reasoning)]

    def profile_facts(self) -> dict[str, Any]:
        """The :class:`~cf_aig.profiles.ModelProfile` fields these facts set."""
        facts: dict[str, Any] = {"tool_calling": self.tools, "vision": self.vision,
                                 "reasoning": self.reasoning, "batch": self.batch,
                                 "workers_paid": self.workers_paid, "task": self.task}
        if self.context_window:
            facts["context_window"] = self.context_window
        if not self.tools:
            facts["tool_choice"] = facts["parallel_tool_calls"] = False
        if self.json_schema is not None:
            facts["json_schema"] = facts["json_mode"] = self.json_schema
        if self.output_family in ("chat", "classic"):
            facts["workers_ai_schema"] = self.output_family
        return facts


@dataclass(frozen=True)
class Catalog:
    """A fetched catalogue: its entries and when it was fetched (ISO 8601, UTC).

    >>> Catalog([CatalogEntry("@cf/a/b")], "2026-11-01T00:00:00Z").get("@cf/a/b").id
    '@cf/a/b'
    """

    entries: list[CatalogEntry]
    fetched_at: str
    source: str = ""
    _by_id: dict[str, CatalogEntry] = field(default_factory=dict, init=False, repr=False,
                                            compare=False)

    def __post_init__(self) -> None:
        self._by_id.update((e.id, e) for e in self.entries)

    def get(self, model: str) -> CatalogEntry | None:
        """The entry for ``model``, if the catalogue has it."""
        return self._by_id.get(model)

    def search(self, text: str | None) -> list[CatalogEntry]:
        """Entries whose id, task or description contains ``text`` (case-insensitive)."""
        if not text:
            return list(self.entries)
        low = text.lower()
        return [e for e in self.entries
                if any(low in (v or "").lower() for v in (e.id, e.task, e.description))]

    def to_json(self) -> dict[str, Any]:
        """The cache file's content."""
        return {"fetched_at": self.fetched_at, "source": self.source,
                "models": [asdict(e) for e in self.entries]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Catalog:
        """Read a cache file's content (unknown keys in an entry are ignored)."""
        names = set(CatalogEntry.__dataclass_fields__)
        entries = [CatalogEntry(**{k: v for k, v in m.items() if k in names})
                   for m in data.get("models", []) if isinstance(m, Mapping) and m.get("id")]
        return cls(entries, str(data.get("fetched_at", "")), str(data.get("source", "")))


# ---- parsing ------------------------------------------------------------------------------


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1")
    return bool(value)


def _int(value: Any) -> int | None:
    try:
        number = int(float(str(value).replace(",", "")))
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def entry_from_search(item: Mapping[str, Any]) -> CatalogEntry:
    """One ``/ai/models/search`` result as an entry.

    The model id is the ``name`` (``@cf/...``; ``id`` is a UUID there); properties are
    ``[{"property_id", "value"}]`` with string values. Accepted too: ``properties`` as a
    plain mapping, and ``task`` as a string.
    """
    props_raw = item.get("properties") or []
    props: dict[str, Any] = {}
    if isinstance(props_raw, Mapping):
        props.update(props_raw)
    else:
        for p in props_raw:
            if isinstance(p, Mapping) and "property_id" in p:
                props[str(p["property_id"])] = p.get("value")
    task = item.get("task")
    task_name = task.get("name") if isinstance(task, Mapping) else task
    name = item.get("name") or item.get("id")
    if not isinstance(name, str) or not name:
        raise ResponseDecodeError(f"catalogue entry without a model name: {dict(item)!r:.200}")
    window = props.get("context_window", props.get("max_input_tokens"))
    return CatalogEntry(
        id=name,
        task=str(task_name) if task_name else None,
        context_window=_int(window),
        tools=_truthy(props.get("function_calling")),
        vision=_truthy(props.get("vision")),
        batch=_truthy(props.get("async_queue")) or _truthy(props.get("batch")),
        reasoning=_truthy(props.get("reasoning")),
        workers_paid=_truthy(props.get("require_workers_paid")),
        description=item.get("description") if isinstance(item.get("description"), str)
        else None,
    )


def schema_takes_response_format(schema: Any) -> bool | None:
    """Whether a ``/ai/models/schema`` answer's input accepts ``response_format``.

    Accepts ``{"input": {...}}`` or ``{"schema": {"input": ...}}``; looks through
    ``properties`` and ``oneOf``/``anyOf`` variants. None when there is no input schema.
    """
    if isinstance(schema, Mapping) and "schema" in schema:
        schema = schema["schema"]
    inp = schema.get("input") if isinstance(schema, Mapping) else None
    if not isinstance(inp, Mapping):
        return None

    def walk(node: Any) -> bool:
        if not isinstance(node, Mapping):
            return False
        props = node.get("properties")
        if isinstance(props, Mapping) and "response_format" in props:
            return True
        return any(walk(v) for key in ("oneOf", "anyOf", "allOf")
                   for v in (node.get(key) or []))

    return walk(inp)


def schema_output_family(schema: Any) -> str | None:
    """``chat`` when a ``/ai/models/schema`` output has ``choices``, ``classic`` when it has
    ``response``, else None (looks through ``oneOf``/``anyOf`` variants too).

    >>> schema_output_family({"output": {"properties": {"choices": {}}}})
    'chat'
    """
    if isinstance(schema, Mapping) and "schema" in schema:
        schema = schema["schema"]
    out = schema.get("output") if isinstance(schema, Mapping) else None
    found: set[str] = set()

    def walk(node: Any) -> None:
        if not isinstance(node, Mapping):
            return
        props = node.get("properties")
        if isinstance(props, Mapping):
            found.update(k for k in ("choices", "response") if k in props)
        for key in ("oneOf", "anyOf", "allOf"):
            for variant in node.get(key) or []:
                walk(variant)

    walk(out)
    if "choices" in found:
        return "chat"
    return "classic" if "response" in found else None


# ---- fetching (one call plan for sync and async) -----------------------------------------


def _v4_result(response: httpx.Response, body: bytes | None) -> Any:
    try:
        obj = json.loads(body or b"null")
    except ValueError as exc:
        raise ResponseDecodeError(f"catalogue answer is not JSON: {exc}") from None
    if isinstance(obj, Mapping) and "result" in obj:
        return obj["result"]
    return obj


def _refresh_plan(core: Core, search: str | None,
                  schemas: bool) -> Generator[Action, Any, Catalog]:
    entries: list[CatalogEntry] = []
    params: dict[str, Any] = {"per_page": PER_PAGE}
    if search:
        params["search"] = search
    for page in range(1, MAX_PAGES + 1):
        request = core.build_request("GET", "/ai/models/search", headers=core.headers(),
                                     params={**params, "page": page})
        result = yield from core.call(request, _v4_result)
        items = result if isinstance(result, list) else []
        entries.extend(entry_from_search(i) for i in items if isinstance(i, Mapping))
        if len(items) < PER_PAGE:
            break
    if schemas:
        for i, entry in enumerate(entries):
            if entry.task != TEXT_GENERATION:
                continue
            request = core.build_request("GET", "/ai/models/schema", headers=core.headers(),
                                         params={"model": entry.id})
            schema = yield from core.call(request, _v4_result)
            entries[i] = _replace(entry, json_schema=schema_takes_response_format(schema),
                                  output_family=schema_output_family(schema))
    now = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    return Catalog(entries, now, core.account_url + "/ai/models/search")


def _replace(entry: CatalogEntry, **changes: Any) -> CatalogEntry:
    return CatalogEntry(**{**asdict(entry), **changes})


def refresh(client: Client, *, search: str | None = None, schemas: bool = True,
            save: bool = True) -> Catalog:
    """Fetch the catalogue (and text-generation schemas), cache it on disk, return it.

    ``search`` narrows what is fetched; ``save=False`` leaves the cache file alone.

    >>> from cf_aig import Client
    >>> from cf_aig.emulator import Emulator
    >>> with Emulator() as emu, Client(account_id=emu.account_id, api_token="t",
    ...                                 base_url=emu.base_url) as client:
    ...     found = refresh(client, search="kimi", save=False)
    >>> found.get("@cf/moonshotai/kimi-k2.6").tools
    True
    """
    catalog = client._drive(_refresh_plan(client, search, schemas))
    if save:
        store(catalog)
    return catalog


async def arefresh(client: AsyncClient, *, search: str | None = None, schemas: bool = True,
                   save: bool = True) -> Catalog:
    """:func:`refresh` for an :class:`~cf_aig.AsyncClient`."""
    catalog = await client._drive(_refresh_plan(client, search, schemas))
    if save:
        store(catalog)
    return catalog


# ---- the on-disk cache --------------------------------------------------------------------

_lock = threading.Lock()
_state: dict[str, Any] = {"loaded": False, "catalog": None, "generation": 0}


def cache_path() -> Path:
    """Where the refreshed catalogue is cached."""
    base = os.environ.get(ENV_CACHE_DIR)
    if base:
        return Path(base) / "catalog.json"
    xdg = os.environ.get("XDG_CACHE_HOME")
    root = Path(xdg) if xdg else Path.home() / ".cache"
    return root / "cf-aig" / "catalog.json"


def store(catalog: Catalog, path: Path | None = None) -> Path:
    """Write ``catalog`` to the cache file (atomically) and use it from now on."""
    target = path or cache_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(catalog.to_json(), indent=1), encoding="utf-8")
    tmp.replace(target)
    with _lock:
        _state.update(loaded=True, catalog=catalog, generation=_state["generation"] + 1)
    return target


def cached(path: Path | None = None) -> Catalog | None:
    """The cached catalogue, or None (no file, or an unreadable one)."""
    if path is not None:
        return _read(path)
    with _lock:
        if not _state["loaded"]:
            _state.update(loaded=True, catalog=_read(cache_path()))
        found: Catalog | None = _state["catalog"]
        return found


def _read(path: Path) -> Catalog | None:
    try:
        return Catalog.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def forget() -> None:
    """Drop the in-memory copy; the cache file is read again on next use."""
    with _lock:
        _state.update(loaded=False, catalog=None, generation=_state["generation"] + 1)


def generation() -> int:
    """Changes whenever the catalogue in use changes (profiles are cached per generation)."""
    value: int = _state["generation"]
    return value


def cached_facts(model: str) -> dict[str, Any]:
    """Profile facts for ``model`` from the cached catalogue ({} when it has none)."""
    if not model.startswith(("@cf/", "@hf/")):
        return {}  # the catalogue lists Workers AI models only
    catalog = cached()
    entry = catalog.get(model) if catalog is not None else None
    return entry.profile_facts() if entry is not None else {}


def bundled() -> Catalog:
    """The bundled model table as a catalogue (the offline default)."""
    from .profiles import _TABLE, get_profile

    def entry(model: str) -> CatalogEntry:
        p = get_profile(model)
        return CatalogEntry(model, task=p.task or TEXT_GENERATION,
                            context_window=p.context_window, tools=p.tool_calling,
                            vision=p.vision, batch=p.batch, reasoning=p.reasoning,
                            workers_paid=p.workers_paid)

    return Catalog([entry(m) for m in _TABLE], "bundled", "cf_aig.profiles")


def table(entries: Iterable[CatalogEntry]) -> str:
    """A plain-text table of ``entries`` (the ``python -m cf_aig models`` output)."""
    head = ["id", "task", "context", "tools", "vision", "batch", "reasoning"]
    rows = [head, *(e.row() for e in entries)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)

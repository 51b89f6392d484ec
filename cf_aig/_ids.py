"""The one grammar for ids that become URL path segments, and their encoding.

Account ids, gateway ids, log ids and model ids are spliced into request paths. A
hostile or mistyped id (``..``, ``?``, ``#``, ``%``, ``\\``, whitespace, control
characters) could send the authenticated request somewhere else, so every id is
checked here before a request is built, and every segment is percent-encoded.

* plain ids (account, gateway, log): 1 to ``MAX_ID_LENGTH`` characters from
  ``A-Z a-z 0-9 . _ - :``, not made of dots only (no ``.``/``..`` segments);
* model ids: 1 to ``MAX_MODEL_LENGTH`` characters, ``/``-separated segments, each
  a plain id that may start with ``@`` (``@cf/meta/llama-3.1-8b-instruct``,
  ``openai/gpt-5.5``, ``workers-ai/@cf/...``, ``dynamic/support``, ``ft:gpt-4o:org:x``).

>>> model_path("@cf/meta/llama-3.1-8b-instruct")
'/ai/run/@cf/meta/llama-3.1-8b-instruct'
>>> check_model_id("@cf/../../user/tokens/verify")
Traceback (most recent call last):
...
cf_aig.errors.InvalidIdError: model id has a '.' or '..' segment ('@cf/../../user/tok...'); ...
"""

from __future__ import annotations

import re
from urllib.parse import quote

from .errors import InvalidIdError

MAX_ID_LENGTH = 128
MAX_MODEL_LENGTH = 256
_SEGMENT = re.compile(r"@?[A-Za-z0-9._:-]+")
_ALLOWED = (
    "letters, digits and . _ - : (model ids: '/'-separated segments, each may start with '@')"
)


def _show(value: str) -> str:
    """The id for an error message: repr, cut short (it is not a secret, but may be huge)."""
    return repr(value if len(value) <= 80 else value[:77] + "...")


def _check_segment(what: str, value: str, segment: str, *, at: bool) -> None:
    if segment.strip(".") == "" and segment:
        raise InvalidIdError(
            f"{what} has a '.' or '..' segment ({_show(value)}); path segments made of dots "
            "are not allowed: pass the id as shown in the Cloudflare dashboard or catalog"
        )
    match = _SEGMENT.fullmatch(segment)
    if not segment or match is None or (segment.startswith("@") and not at):
        bad = sorted({c for c in segment if not (c.isascii() and (c.isalnum() or c in "._:-@"))})
        detail = f"characters {''.join(bad)!r} are" if bad else "an empty or misplaced part is"
        raise InvalidIdError(
            f"{what} {_show(value)} is not a valid id: {detail} not allowed; use {_ALLOWED}"
        )


def check_id(what: str, value: object) -> str:
    """``value`` if it is a valid account/gateway/log id, else :class:`InvalidIdError`.

    >>> check_id("gateway_id", "prod-1")
    'prod-1'
    """
    if not isinstance(value, str) or not value:
        raise InvalidIdError(f"{what} must be a non-empty string, got {type(value).__name__}")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidIdError(f"{what} is longer than {MAX_ID_LENGTH} characters: {_show(value)}")
    _check_segment(what, value, value, at=False)
    return value


def check_model_id(value: object, what: str = "model id") -> str:
    """``value`` if it is a valid model id for a URL path, else :class:`InvalidIdError`.

    >>> check_model_id("workers-ai/@cf/baai/bge-m3")
    'workers-ai/@cf/baai/bge-m3'
    """
    if not isinstance(value, str) or not value:
        raise InvalidIdError(f"{what} must be a non-empty string, got {type(value).__name__}")
    if len(value) > MAX_MODEL_LENGTH:
        raise InvalidIdError(
            f"{what} is longer than {MAX_MODEL_LENGTH} characters: {_show(value)}"
        )
    for segment in value.split("/"):
        _check_segment(what, value, segment, at=True)
    return value


def segment(what: str, value: object) -> str:
    """A checked plain id, percent-encoded as one path segment.

    >>> segment("log_id", "019a7b3e-0000")
    '019a7b3e-0000'
    """
    return quote(check_id(what, value), safe=":")


def model_path(model: object, prefix: str = "/ai/run/") -> str:
    """``prefix`` plus a checked model id, each of its segments percent-encoded."""
    checked = check_model_id(model)
    return prefix + "/".join(quote(s, safe="@:") for s in checked.split("/"))

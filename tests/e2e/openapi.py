"""Check the sandbox's REST answers against Discord's own OpenAPI description.

A shape the sandbox invents (a number where Discord sends a string snowflake, a missing
required field) would let the bot pass here and fail on Discord, so every 2xx JSON answer a test
provokes is validated against the response schema Discord publishes for that route and status.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from sandbox.recorder import Call

# Discord's own description of REST v10 (MIT, see the folder's README), kept with the tests so
# every run checks the sandbox's answers against it; DISCORD_OPENAPI_SPEC tries a newer one.
# Gzipped as vendored (1.2 MB of JSON, 0.1 MB compressed); a plain .json given by
# DISCORD_OPENAPI_SPEC is read as it is.
SPEC_PATH = Path(__file__).resolve().parent / "discord-api-spec" / "openapi.json.gz"


class SpecMissing(Exception):
    """The OpenAPI description isn't where it should be: the shape check can't run."""


def spec_path() -> Path:
    override = os.environ.get("DISCORD_OPENAPI_SPEC")
    path = Path(override) if override else SPEC_PATH
    if not path.is_file():
        raise SpecMissing(f"Discord's OpenAPI description is missing at {path}")
    return path


@functools.cache
def _spec() -> dict[str, Any]:
    path = spec_path()
    raw = path.read_bytes()
    text = gzip.decompress(raw) if path.suffix == ".gz" else raw
    return _with_known_lags(json.loads(text))


def _with_known_lags(spec: dict[str, Any]) -> dict[str, Any]:
    """Where Discord's published description lags its documentation, the documentation wins.

    `MessageReferenceType` lists only DEFAULT (0); the Messages resource documents FORWARD (1),
    which every forwarded message carries in its `message_reference`.
    """
    types = spec["components"]["schemas"]["MessageReferenceType"]["oneOf"]
    if not any(t.get("const") == 1 for t in types):
        types.append({"title": "FORWARD", "description": "a forwarded message", "const": 1})
    return spec


@functools.cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    """Path templates as regexes, literal segments first (`/users/@me` before `{user_id}`)."""
    found = []
    for template in _spec()["paths"]:
        pattern = re.sub(
            r"\{[^}]+\}", "[^/]+", re.escape(template).replace(r"\{", "{").replace(r"\}", "}")
        )
        found.append((re.compile(f"^{pattern}$"), template))
    return sorted(found, key=lambda item: item[1].count("{"))


def spec_route(path: str) -> str | None:
    for pattern, template in _templates():
        if pattern.match(path):
            return template
    return None


@functools.cache
def _validator(template: str, method: str, status: int) -> Draft202012Validator | None:
    operation = _spec()["paths"][template].get(method.lower())
    if operation is None:
        return None
    responses = operation["responses"]
    response = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
    if response is None:
        return None
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return None
    return Draft202012Validator({**schema, "components": _spec()["components"]})


def shape_errors(call: Call) -> list[str]:
    """Why this call's answer does not fit Discord's schema (empty when it fits or is not JSON)."""
    if not 200 <= call.status < 300 or call.response is None:
        return []
    template = spec_route(call.path)
    if template is None:
        return [f"{call.method} {call.path}: no such route in Discord's OpenAPI description"]
    validator = _validator(template, call.method, call.status)
    if validator is None:
        return [f"{call.method} {template}: Discord documents no JSON {call.status} answer"]
    return [
        f"{call.method} {template} -> {call.status}: {'/'.join(map(str, e.absolute_path))}: "
        f"{e.message[:200]}"
        for e in _leaves(validator.iter_errors(call.response))
    ]


def _leaves(errors: Iterable[ValidationError]) -> Iterator[ValidationError]:
    """The innermost errors: for a oneOf, the reasons its matching branch failed."""
    for error in errors:
        if error.context:
            yield from _leaves(e for e in error.context if _branch_type_matches(e))
        else:
            yield error


def _branch_type_matches(error: ValidationError) -> bool:
    """Skip oneOf branches rejected only for their discriminating `type` (4 vs 7, ...)."""
    return not (error.validator == "enum" and list(error.relative_path)[-1:] == ["type"])

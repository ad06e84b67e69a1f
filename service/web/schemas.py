"""What the API's input models share."""

from __future__ import annotations

from pydantic import ConfigDict
from pydantic.config import JsonDict


def strict_with_example(example: JsonDict) -> ConfigDict:
    """An input model's config: unknown fields refused (a misspelt field is a 422, not
    silently dropped), and `example` shown as the request body in /openapi.json."""
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [example]})

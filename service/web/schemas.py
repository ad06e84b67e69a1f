"""What the API's models share: input models' config, and the cursor-paged list shape."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

Item = TypeVar("Item", bound=BaseModel)


def strict_with_example(example: JsonDict) -> ConfigDict:
    """An input model's config: unknown fields refused (a misspelt field is a 422, not
    silently dropped), and `example` shown as the request body in /openapi.json."""
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [example]})


class CursorPage(BaseModel, Generic[Item]):
    """A page of a list read a page at a time: subclass `CursorPage[ItsItem]` under the name
    /openapi.json shows."""

    data: list[Item]
    count: int
    next_cursor: int | None = Field(
        description="Pass as `cursor` for the next page; null on the last page"
    )

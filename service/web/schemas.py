"""What the API's models share: input models' config, optional fields whose null means
"not sent", and the cursor-paged list shape."""

from __future__ import annotations

from functools import cache
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, model_validator
from pydantic.config import JsonDict
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

Item = TypeVar("Item", bound=BaseModel)


def strict_with_example(example: JsonDict) -> ConfigDict:
    """An input model's config: unknown fields refused (a misspelt field is a 422, not
    silently dropped), and `example` shown as the request body in /openapi.json."""
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [example]})


class NullAsAbsent:
    """Field metadata (`Annotated[bool, NullAsAbsent()] = False`) of a `NullsAsAbsent`
    model: an explicit JSON null is the field not sent. Shown nullable in /openapi.json,
    as the API's other optional fields."""

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"anyOf": [handler(schema), {"type": "null"}]}


class NullsAsAbsent(BaseModel):
    """An input model whose `NullAsAbsent` fields take null as left out: the default, and
    not in `model_fields_set`, so that an update keeps the stored value. Serializers of
    one-stop systems (Jackson, Newtonsoft.Json, Go pointers) write null for an unset
    property: every handover without staff was a 422 (audit)."""

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls_meant_absent(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        absent = _null_as_absent_fields(cls)
        return {k: v for k, v in data.items() if v is not None or k not in absent}


@cache  # once per model: every handover passes here
def _null_as_absent_fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(
        name
        for name, field in model.model_fields.items()
        if any(isinstance(meta, NullAsAbsent) for meta in field.metadata)
    )


class CursorPage(BaseModel, Generic[Item]):
    """A page of a list read a page at a time: subclass `CursorPage[ItsItem]` under the name
    /openapi.json shows."""

    data: list[Item]
    count: int
    next_cursor: int | None = Field(
        description="Pass as `cursor` for the next page; null on the last page"
    )

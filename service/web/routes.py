"""Route declarations the API's routers share."""

from __future__ import annotations

from typing import Any, TypedDict

from pydantic import BaseModel

from service.web.errors import error_responses


class RouteKwargs(TypedDict):
    status_code: int
    response_model: type[BaseModel]
    responses: dict[int | str, dict[str, Any]]


def created_or_known(model: type[BaseModel], known: str, *, errors: tuple[int, ...]) -> RouteKwargs:
    """A create keyed by the client's own identifier (a dossier or petition code, a
    client_submission_id), so that sending it again is safe: 201 with `model` when it
    creates, 200 with the same `model` when the identifier was known (`known` says what
    was done then), and the `errors` it answers. Spread into the route's decorator."""
    return {
        "status_code": 201,
        "response_model": model,
        "responses": {200: {"description": known, "model": model}, **error_responses(*errors)},
    }

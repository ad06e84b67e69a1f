"""HTTP for webhook subscriptions and their deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlmodel import Session

from service.web.deps import SubscriberWork
from service.web.errors import error_responses
from service.web.params import RowIdPath, WebhookIdPath
from service.webhooks import service
from service.webhooks.schemas import (
    DeliveryList,
    DeliveryPublic,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionList,
    SubscriptionPublic,
)

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
ERRORS = error_responses(401, 403, 404, 422)


@router.post(
    "",
    status_code=201,
    response_model=SubscriptionCreated,
    responses=error_responses(401, 403, 422),
    summary="Subscribe a URL to events; the signing secret is shown once",
)
async def create_subscription(
    payload: SubscriptionCreate, work: SubscriberWork
) -> SubscriptionCreated:
    await service.check_url(payload.url, work.settings)
    return await work.run(lambda s: service.create(s, work.principal(s), payload, work.settings))


@router.get(
    "",
    response_model=SubscriptionList,
    responses=ERRORS,
    summary="Your subscriptions (an admin sees all)",
)
async def list_subscriptions(work: SubscriberWork) -> SubscriptionList:
    data = await work.run(lambda s: service.list_subscriptions(s, work.principal(s)))
    return SubscriptionList(data=data, count=len(data))


@router.get(
    "/{id}",
    response_model=SubscriptionPublic,
    responses=ERRORS,
    summary="One subscription, with why it was disabled if it was",
)
async def get_subscription(webhook_id: WebhookIdPath, work: SubscriberWork) -> SubscriptionPublic:
    return await work.run(lambda s: service.get(s, work.principal(s), webhook_id))


@router.delete(
    "/{id}",
    status_code=204,
    responses=ERRORS,
    response_class=Response,
    summary="Stop sending to this subscription",
)
async def delete_subscription(webhook_id: WebhookIdPath, work: SubscriberWork) -> Response:
    def remove(session: Session) -> None:
        service.delete(session, work.principal(session), webhook_id)

    await work.run(remove)
    return Response(status_code=204)


@router.post(
    "/{id}/enable",
    response_model=SubscriptionPublic,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Re-enable a subscription that was disabled after failing for days",
)
async def enable_subscription(
    webhook_id: WebhookIdPath, work: SubscriberWork
) -> SubscriptionPublic:
    return await work.run(lambda s: service.enable(s, work.principal(s), webhook_id, work.settings))


@router.get(
    "/{id}/deliveries",
    response_model=DeliveryList,
    responses=ERRORS,
    summary="Recent deliveries, newest first, with every attempt",
)
async def list_deliveries(
    webhook_id: WebhookIdPath,
    work: SubscriberWork,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeliveryList:
    data = await work.run(lambda s: service.deliveries(s, work.principal(s), webhook_id, limit))
    return DeliveryList(data=data, count=len(data))


@router.post(
    "/{id}/deliveries/{delivery_id}/retry",
    response_model=DeliveryPublic,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Send a failed delivery again now",
)
async def retry_delivery(
    webhook_id: WebhookIdPath, delivery_id: RowIdPath, work: SubscriberWork
) -> DeliveryPublic:
    return await work.run(
        lambda s: service.retry(s, work.principal(s), webhook_id, delivery_id, work.settings)
    )

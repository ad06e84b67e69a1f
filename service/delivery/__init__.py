"""Getting webhook events to their receivers: fan-out (fan_out.py), signed sending with
retries (sending.py) and the worker that runs both (worker.py).

Apart from service/webhooks (subscriptions, the outbox, event bodies), which every domain
writes its events through, scoring included: a score.updated delivery carries the score as
it is when sent, so delivery reads scoring and sits above it.
"""

"""Webhooks as every domain sees them: subscriptions (router, service), the outbox events
are written to in the transaction of the change they report (outbox.py), and what an event
says (payloads.py). Below scoring, which writes events too; sending them is
service/delivery's."""

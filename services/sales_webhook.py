"""The shop's signed sales webhook (Standard Webhooks): verify a delivery, then store it once.

The body is verified byte for byte before anything parses it: ``webhook-timestamp`` within 5 minutes
of now and a ``webhook-signature`` (``v1,<base64 HMAC-SHA256>``) made with any one of
``LIVESLICE_SALES_WEBHOOK_SECRETS`` (so secrets rotate: add the new one, switch the shop, drop the old).
A ``webhook-id`` already processed is a replay: it changes nothing. The receipt, the sale and what
follows from it commit together.
"""

from __future__ import annotations

import binascii
import math
import time
from collections.abc import Mapping

from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from runtime.config import Settings
from services.errors import InvalidRequest, Misconfigured, NotAuthenticated, TooLarge, Unavailable
from services.sales import WEBHOOK, SaleOutcome, SalesError, record_sale
from sidedata.shop_sales import ShopSale
from store import sales as repo

SIGNED_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
MAX_WEBHOOK_BYTES = 1024 * 1024
MAX_WEBHOOK_ID = 200
TOLERANCE_MINUTES = 5


class SalesWebhookOff(Unavailable, SalesError):
    code = "sales_webhook_off"


class WebhookSecretBroken(Misconfigured, SalesError):
    code = "sales_webhook_secret_invalid"


class WebhookForged(NotAuthenticated, SalesError):
    code = "bad_signature"


class WebhookStale(NotAuthenticated, SalesError):
    code = "stale_timestamp"


class WebhookTooLarge(TooLarge, SalesError):
    pass


class WebhookHeaders(InvalidRequest, SalesError):
    code = "bad_webhook_headers"


def webhooks(settings: Settings) -> list[Webhook]:
    """A verifier per configured secret. Raises :class:`SalesWebhookOff` when there is none."""
    if not settings.sales_webhook_secrets:
        raise SalesWebhookOff(
            "the sales webhook is off: set LIVESLICE_SALES_WEBHOOK_SECRETS to the shop's whsec_... secret(s)"
        )
    verifiers = []
    for index, secret in enumerate(settings.sales_webhook_secrets, start=1):
        try:
            verifiers.append(Webhook(secret))
        except (binascii.Error, ValueError) as exc:
            raise WebhookSecretBroken(
                f"LIVESLICE_SALES_WEBHOOK_SECRETS entry {index} is not a whsec_<base64> secret"
            ) from exc
    return verifiers


def check_headers(settings: Settings, headers: Mapping[str, str]) -> None:
    """What can be refused before the body is read: the webhook off, signature headers missing, a
    timestamp that is not a number or more than 5 minutes off. The body's signature is checked by
    :func:`verify_delivery`."""
    webhooks(settings)
    missing = [name for name in SIGNED_HEADERS if not headers.get(name)]
    if missing:
        raise WebhookForged(f"unsigned delivery: missing header(s) {', '.join(missing)} (Standard Webhooks)")
    if len(headers["webhook-id"]) > MAX_WEBHOOK_ID:
        raise WebhookHeaders(f"webhook-id is longer than {MAX_WEBHOOK_ID} characters")
    try:
        sent = float(headers["webhook-timestamp"])
    except ValueError as exc:
        raise WebhookForged("webhook-timestamp is not a number of seconds") from exc
    skew = sent - time.time()
    if not math.isfinite(skew) or abs(skew) > TOLERANCE_MINUTES * 60:
        raise _stale("old" if skew < 0 else "far in the future")


def _stale(which: str) -> WebhookStale:
    return WebhookStale(
        f"webhook-timestamp is too {which}: deliveries must be signed within {TOLERANCE_MINUTES} minutes "
        "of now (check the sender's clock)"
    )


def verify_delivery(settings: Settings, body: bytes, headers: Mapping[str, str]) -> str:
    """The delivery's ``webhook-id`` once ``body`` is proven to come from the shop and be fresh.

    Raises :class:`SalesWebhookOff` (no secret configured), :class:`WebhookStale` (timestamp more than 5
    minutes off), :class:`WebhookForged` (missing headers or no secret's signature matches)."""
    check_headers(settings, headers)
    wanted = {name: headers[name] for name in SIGNED_HEADERS}
    for verifier in webhooks(settings):
        try:
            verifier.verify(body, wanted, json_parse=False)
        except WebhookVerificationError as exc:
            reason = str(exc)
            if "too old" in reason or "too new" in reason:  # the clock moved on since check_headers
                raise _stale("old" if "too old" in reason else "far in the future") from exc
            if "Invalid Signature Headers" in reason:
                raise WebhookForged("webhook-timestamp is not a number of seconds") from exc
            continue  # this secret did not sign it; another may have
        return wanted["webhook-id"]
    raise WebhookForged("webhook-signature matches none of the configured secrets")


def receive_delivery(settings: Settings, session: Session, *, webhook_id: str, sale: ShopSale) -> SaleOutcome:
    """Store a verified delivery once: a replayed ``webhook_id`` changes nothing (``duplicate``).
    Commits the receipt, the sale and what follows from it together; rolls back on any error."""
    try:
        if not repo.add_receipt(session, webhook_id):
            session.rollback()
            stored = repo.sale_by_order(session, sale.order_id)
            return SaleOutcome(
                order_id=sale.order_id,
                sale_id=stored.id if stored is not None else None,
                status=stored.status if stored is not None else None,
                refund_amount=stored.refund_amount if stored is not None else None,
                duplicate=True,
            )
        outcome = record_sale(settings, session, sale, source=WEBHOOK, reference=webhook_id)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return outcome

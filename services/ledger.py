"""The commission ledger (placeholder: the ledger work replaces this module, keeping ``on_sale_changed``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from runtime.config import Settings


def on_sale_changed(settings: Settings, session: Session, *, sale_id: str) -> None:
    """Called in the transaction that created, attributed or changed a sale (status, refund): appends the
    commission, reversal or clawback entries that follow. Idempotent: calling it twice appends nothing more."""
    return None

"""The base of dondoc's Apprise plugins (Apprise keeps its own in apprise/plugins/base.py)."""

from __future__ import annotations

from notifications.delivery import DeliveryContext, SendResult


class DondocPlugin:
    """Mixin for dondoc's Apprise plugins: accepts a DeliveryContext, records a SendResult."""

    delivery_context: DeliveryContext | None = None
    last_result: SendResult | None = None

    def prepare_delivery(self, context: DeliveryContext) -> None:
        """Attach the per-message context used by the next send()."""
        self.delivery_context = context
        self.last_result = None

    def record_result(self, result: SendResult) -> bool:
        """Remember the classified outcome and return the bool Apprise expects."""
        self.last_result = result
        return result.ok


__all__ = ["DondocPlugin"]

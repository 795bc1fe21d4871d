"""dondoc's Apprise plugins; importing this package registers their schemas with Apprise.

- `zalo://`    Zalo OA consultation messages          (notifications.plugins.zalo.NotifyZaloOA)
- `zns://`     Zalo ZNS template messages             (notifications.plugins.zalo.NotifyZaloZNS)
- `mailbox://` .eml files in a local folder (default) (notifications.plugins.mailbox.NotifyMailbox)

`mailto://`/`mailtos://` stay Apprise's own registration; `notifications.channels` instantiates
`notifications.plugins.smtp_email.DondocEmail` for them itself, so other Apprise users in the
process (e.g. Prefect) keep the stock e-mail plugin.
"""

from __future__ import annotations

import threading

from apprise.plugins import N_MGR

from notifications.delivery import install_log_masking
from notifications.plugins.mailbox import NotifyMailbox
from notifications.plugins.smtp_email import DondocEmail
from notifications.plugins.zalo import NotifyZaloOA, NotifyZaloZNS

PLUGINS = (NotifyZaloOA, NotifyZaloZNS, NotifyMailbox)

_lock = threading.Lock()


def register_plugins() -> None:
    """Register dondoc's schemas with Apprise's plugin manager (idempotent)."""
    with _lock:
        for plugin in PLUGINS:
            schemas = {plugin.protocol} if isinstance(plugin.protocol, str) else set(plugin.protocol)
            if all(schema in N_MGR and N_MGR[schema] is plugin for schema in schemas):
                continue
            # force=True: re-importing (tests, reloads) must replace a stale class for our schema.
            if not N_MGR.add(plugin, force=True):
                raise RuntimeError(f"Apprise refused to register {plugin.__name__}")


register_plugins()
# Apprise logs through the "apprise" logger; mask secrets there even when these plugins are
# used without notifications.channels (e.g. from the apprise CLI with --plugin-path).
install_log_masking("apprise", "notifications.zalo_tokens", "notifications.channels")

__all__ = ["PLUGINS", "DondocEmail", "NotifyMailbox", "NotifyZaloOA", "NotifyZaloZNS", "register_plugins"]

"""Notifications: channels (Apprise plugins, classified send results), outbox and templates."""

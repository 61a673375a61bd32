"""Placeholder; replaced by the real outbox adapter."""

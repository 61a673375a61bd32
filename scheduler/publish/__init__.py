"""The publisher: claiming, publishing, retries, reconciliation and the service."""

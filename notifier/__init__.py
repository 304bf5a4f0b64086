"""The notifier: receives Alertmanager webhooks and appends them to CHATOPS_ALERTS."""

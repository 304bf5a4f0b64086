"""The Ops service: every command as one NATS micro service, with a durable audit log."""

"""ChatOps over a NATS bus: the shared core (settings, subjects, codec, bus, provisioning, CLI)."""

__version__ = "0.1.0"

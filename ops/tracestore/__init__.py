"""The local trace store: an OTLP/HTTP receiver that keeps spans in SQLite, answering TraceBackend."""

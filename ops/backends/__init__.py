"""Backends of the Ops service: small Protocols and their real HTTP/gRPC clients."""

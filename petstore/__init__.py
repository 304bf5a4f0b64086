"""The demo Petstore from the seed: gRPC CRUD, OpenTelemetry traces, Prometheus metrics."""

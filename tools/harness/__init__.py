"""Real servers and components on free loopback ports, for the tests and the benchmarks alike."""

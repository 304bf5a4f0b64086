"""The deploy agent: owns a service's instances on a host and rolls versions out canary-first."""

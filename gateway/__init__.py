"""Everything between a human and the bus: grammar, renderers, the Slack and console front ends."""

"""Developer tools: the README and AsyncAPI generators, and the harness that starts real servers."""

"""radiome."""

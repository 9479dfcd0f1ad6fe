"""Pages of the branching strategy, one module per resource."""

"""What to fit: ModelSpec and RandomTerm, grouping levels, nesting, design arrays."""

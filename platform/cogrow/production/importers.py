"""Import kinds of production, registered with cogrow.imports.registry."""

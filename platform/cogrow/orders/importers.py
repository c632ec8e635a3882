"""Import kinds of orders, registered with cogrow.imports.registry."""

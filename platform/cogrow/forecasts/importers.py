"""Import kinds of forecasts, registered with cogrow.imports.registry."""

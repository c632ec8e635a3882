"""Each role's home page: its work queue, drawn from the domains' services."""

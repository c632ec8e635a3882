"""Home pages: each role's work queue."""

"""One router per resource: ``preview`` (cases) and ``meta`` (health, version)."""

"""Typed, versioned messages shared by the services: the only code they share besides `runtime`."""

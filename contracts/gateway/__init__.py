"""Version modules: import `contracts.gateway.v1`."""

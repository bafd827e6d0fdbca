"""Version modules: import `contracts.usage.v1`."""

"""Version modules: import `contracts.billing.v1`."""

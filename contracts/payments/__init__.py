"""Version modules: import `contracts.payments.v1`."""

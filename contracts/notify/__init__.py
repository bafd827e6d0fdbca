"""Version modules: import `contracts.notify.v1`."""

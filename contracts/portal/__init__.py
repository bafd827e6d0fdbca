"""Version modules: import `contracts.portal.v1`."""

"""Version modules: import `contracts.documents.v1`."""

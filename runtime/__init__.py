"""The small runtime every service shares: settings, database, outbox/inbox, messaging, ops endpoints.

It holds mechanisms, never business rules.
"""

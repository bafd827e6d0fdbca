"""One module per portal page: dashboard, transactions, top-up, payment methods, auto top-up, documents,
notifications."""

"""Sources: one module per place a DAO speaks or decides."""

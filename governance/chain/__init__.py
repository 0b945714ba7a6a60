"""On-chain helpers for governance: contract deployment for tests/demos, Safe hashing, Governor calls."""

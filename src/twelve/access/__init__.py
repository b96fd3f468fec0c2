"""Users, tokens, per-app roles and the hash-chained audit trail: who may do what, and who did."""

"""Per-app metrics: what the router counts and the supervisor samples, kept and read back."""

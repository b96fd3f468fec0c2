"""The web dashboard: server-rendered pages over the same API the CLI uses."""

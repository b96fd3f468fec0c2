"""Supervision: process states and restart policy (pure), spawning and signalling (spawn), the loop."""

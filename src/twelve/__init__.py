"""twelve: a self-hosted application platform for Twelve-Factor apps."""

__version__ = "0.1.0"

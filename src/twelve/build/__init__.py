"""Builds: detect the app's kind, plan the steps as data, run them into an immutable slug."""

"""Pure parsing and validation of what users write: Procfile, .env, formation, names."""

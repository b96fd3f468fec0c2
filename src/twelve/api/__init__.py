"""The HTTP API: JSON over HTTP with a bearer token; one module per resource."""

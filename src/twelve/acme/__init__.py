"""Automatic certificates from an ACME CA (RFC 8555): schedule, order state, storage, the client.

The protocol itself is certbot's ``acme`` package; twelve owns only when to order (``schedule``),
the state of an app's order (``state``), which names a certificate covers (``domains``), where the
keys and state live (``files``), and answering HTTP-01 in the router (``twelve.router.edge``).
"""

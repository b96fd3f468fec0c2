"""The router: HTTP/1.1 reverse proxy from ``APP.<TWELVE_DOMAIN>`` to the app's web processes.

The contract with the daemon
----------------------------
Start: ``python -m twelve.router`` as its own process group. Settings come from
``Settings.from_environ()`` (``TWELVE_ROUTER_BIND``, ``TWELVE_DOMAIN``, ``TWELVE_ROUTER_WORKERS``,
``TWELVE_ROUTER_*`` limits and timeouts, ``TWELVE_HOME`` for the route table).

Stdout carries one JSON object per line, and nothing else:

- ``{"event": "listening", "address": "HOST:PORT"}`` once, when every worker accepts connections
  on the real port (bind port 0 works; all workers share that one port). With
  ``TWELVE_ROUTER_TLS_BIND`` set, ``{"event": "listening_tls", "address": "HOST:PORT"}`` comes
  just before it: the HTTPS port, served by the same workers (``tls``).
- ``{"app": "hello", "line": "at=info method=GET path=\\"/\\" host=... status=200 bytes=13"}`` per
  request, in Heroku's router format; errors read ``at=error code=H14 desc="..." ...``.
  ``app`` is null for hosts no app claims. The daemon puts ``line`` into that app's stream as
  source ``router``.
- Other events: ``routes`` (a worker loaded a table: ``version``, ``apps``, ``pid``),
  ``warning`` (``message``: a missing or malformed table, a skipped entry), ``dropped``
  (``lines``, ``total``, ``message``: access lines lost because stdout was not read fast
  enough; the proxy never waits for the reader), ``error`` (``message``: the router could not
  start; exit 1).

Route table: ``settings.routes_path`` (``TWELVE_HOME/run/routes.json``), written atomically by
the daemon (temporary file + rename)::

    {"version": 3, "apps": {"hello": {"domains": ["www.example.com"],
        "backends": [{"dyno": "web.1", "host": "127.0.0.1", "port": 5001}],
        "tls": {"cert": "/abs/cert.pem", "key": "/abs/key.pem", "hostnames": ["hello.example.com"]}}}}

``tls`` is optional: the app's certificate, chosen by SNI on the HTTPS port.

It is read at start and again on SIGHUP (send it to the process group: every worker reloads).
A missing or malformed file means an empty table and a ``warning`` event, never a crash. Each
worker also notices a changed file within a second, so a SIGHUP lost at start-up is harmless.

Routing: the Host header (any case, port ignored) picks the app; unknown hosts get 404 (H43),
never another app; an app with no backends gets 503 (H14); backends are taken round robin,
skipping one with more requests in flight than another; a backend that refuses the connection or
does not accept in time is skipped for the next one (the request was never sent), and when none
accepts the answer is 503 (H10 or H19). Requests in flight keep their backend when a new table
drops it.

Signals: SIGHUP reloads; SIGTERM (or SIGINT) stops accepting, lets in-flight requests finish for
up to ``worker.SHUTDOWN_GRACE`` seconds, then exits 0.

Error codes users can look up are listed in ``codes`` and documented in docs/router.md.
"""

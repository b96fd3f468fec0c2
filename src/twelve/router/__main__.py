"""``python -m twelve.router``: the router process the daemon starts (see ``twelve.router``)."""

import signal

# Before anything else: a SIGHUP sent while the interpreter is still importing must not end the
# router with the default action. The master takes pending signals once it is ready.
signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGHUP, signal.SIGTERM, signal.SIGINT))

from twelve.router.server import main  # noqa: E402 (after the signal mask on purpose)

raise SystemExit(main())

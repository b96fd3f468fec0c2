"""``python -m twelve.router``: the router process the daemon starts (see ``twelve.router``)."""

import signal

# Before anything else: a SIGHUP sent while the interpreter is still importing must not end the
# router with the default action. The master takes pending signals once it is ready.
signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGHUP, signal.SIGTERM, signal.SIGINT))

from twelve.errors import TwelveError  # noqa: E402 (after the signal mask on purpose)
from twelve.router import native  # noqa: E402
from twelve.settings import Settings  # noqa: E402

try:
    wanted = Settings.from_environ().router_compiled
except TwelveError:
    wanted = False  # main() reports the bad setting
# The compiled build must be chosen before the proxy's modules are first imported.
compiled = wanted and native.activate()

from twelve.router.server import main  # noqa: E402

raise SystemExit(main(compiled=compiled))

"""``python -m twelve.router``: the router process the daemon starts (see ``twelve.router``)."""

import signal

# Before anything else: a SIGHUP sent while the interpreter is still importing must not end the
# router with the default action. The master takes pending signals once it is ready.
signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGHUP, signal.SIGTERM, signal.SIGINT))

from twelve.errors import TwelveError  # noqa: E402 (after the signal mask on purpose)
from twelve.router import native, preload  # noqa: E402
from twelve.settings import Settings  # noqa: E402

settings: Settings | None
try:
    settings = Settings.from_environ()
except TwelveError:
    settings = None  # main() reports the bad setting
if settings is not None:
    preload.apply(settings.router_preload)  # the blocked signals stay pending across the exec
# The compiled build must be chosen before the proxy's modules are first imported.
compiled = (
    settings is not None
    and settings.router_compiled
    and native.activate(sanitized=settings.router_sanitized)
)

from twelve.router.server import main  # noqa: E402

raise SystemExit(main(compiled=compiled))

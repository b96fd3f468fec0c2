"""The keeper: the small process that holds what must outlive the daemon.

Every process twelve supervises (app processes, the router, add-on servers) is started by the
keeper on the daemon's request, so the keeper is their parent: it holds the read end of each one's
output pipe, reads it without pause, reaps each one and keeps its exit code. The daemon talks to
it over a Unix socket (``run/keeper.sock``) in JSON lines: ``spawn``, ``note`` (remember a fact
about a process, such as the router's address), ``ack`` and ``upgrade``; the keeper sends each
output line and each exit as a numbered message and keeps it until the daemon acknowledges it,
after the line is in the journal. A daemon that stops or dies loses nothing: the next one says
``hello``, gets the table of processes (pids, groups, start times, notes) and every message not
acknowledged, in order, and adopts the processes. What waits is bounded (``--buffer`` bytes); the
oldest lines beyond it are dropped and counted, and the count reaches the app's log.

The keeper upgrades itself by ``exec``: its pid, its children and its file descriptors (the
listening socket, every output pipe) stay, and the new program reads the table and the waiting
messages from a memory file it inherits. A process is never the child of a stopped keeper.
"""

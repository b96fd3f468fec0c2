"""A background worker: prints a line every few seconds until SIGTERM."""

import os
import signal
import time

running = True


def stop(*_: object) -> None:
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
interval = float(os.environ.get("WORKER_INTERVAL", "5"))
count = 0
while running:
    count += 1
    print(f"{os.environ.get('GREETING', 'hello')} from the worker (tick {count})", flush=True)
    time.sleep(interval)
print("worker stopping", flush=True)

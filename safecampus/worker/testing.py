"""Driving the real worker in tests (the HTTP and SMTP sinks are in notify/testing.py)."""


def drain(*, ticks: int = 20, threads: int = 2) -> int:
    """Run Worker.tick() until nothing is due (at most `ticks` times); returns the ticks run.

    With settings NOTIFY_BACKOFF=[0, 0, 0, 0, 0] a failed try is due again at
    once, so one call runs a delivery through all its retries.
    """
    from safecampus.worker.loop import Worker

    worker = Worker(threads=threads)
    try:
        for n in range(1, ticks + 1):
            if not worker.tick():
                return n
        return ticks
    finally:
        worker.pool.shutdown(wait=True)

"""What the notification benchmarks share: a sink in another process, and a district
of n schools with one webhook robot each."""

import multiprocessing
import time
from multiprocessing.connection import Connection
from typing import Any

from safecampus.notify.models import Channel
from safecampus.notify.testing import HttpSink
from safecampus.orgs.models import Unit, UnitKind


class RemoteSink:
    """HttpSink in a child process, so the sink's own work does not share the measured
    process (and its GIL) with the worker; requests come back as (path, key, at)."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=self._serve, args=(child,), daemon=True)
        self._process.start()
        self.url = self._conn.recv()

    @staticmethod
    def _serve(conn: Connection) -> None:
        sink = HttpSink().start()
        conn.send(sink.url)
        while (command := conn.recv()) != "stop":
            if command == "clear":
                sink.clear()
                conn.send(None)
            elif command == "count":
                conn.send(len(sink.requests))
            elif command == "records":
                conn.send([(r.path, r.header("Idempotency-Key"), r.at) for r in sink.requests])
        sink.stop()

    def _ask(self, command: str) -> Any:
        self._conn.send(command)
        return self._conn.recv()

    def clear(self) -> None:
        self._ask("clear")

    def count(self) -> int:
        return self._ask("count")

    def records(self) -> list[tuple[str, str, float]]:
        return self._ask("records")

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.count() < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def stop(self) -> None:
        self._conn.send("stop")
        self._process.join(timeout=10)


def build(n: int, url: str) -> list[Channel]:
    """A bureau with n schools (paths computed, one bulk insert), a webhook each."""
    step = Unit.steplen
    bureau = Unit.objects.add_root(instance=Unit(code="B", name="教育局", kind=UnitKind.BUREAU))
    schools = Unit.objects.bulk_create(
        (
            Unit(
                path=bureau.path + Unit._int2str(i).rjust(step, "0"),
                depth=2,
                numchild=0,
                code=f"S{i:05d}",
                name=f"学校{i}",
                kind=UnitKind.SCHOOL,
            )
            for i in range(1, n + 1)
        ),
        batch_size=2000,
    )
    Unit.objects.filter(pk=bureau.pk).update(numchild=n)
    return Channel.objects.bulk_create(
        (
            Channel(
                unit=school,
                kind="webhook",
                name=f"值班群 {i}",
                config={"url": f"{url}/hook/{i}", "secret": ""},
            )
            for i, school in enumerate(schools)
        ),
        batch_size=2000,
    )

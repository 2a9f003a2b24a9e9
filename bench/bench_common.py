"""What the notification benchmarks share: a receiver in another process that logs each
request (path, Idempotency-Key, time) and can answer slowly or not at all, a district of n
schools with one webhook robot each, and real worker processes to start, kill and restart.

Everything listens on and talks to 127.0.0.1 only.
"""

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from django.utils import timezone

from safecampus.notify.models import Channel, Urgency
from safecampus.notify.services import notification_create
from safecampus.notify.testing import OK_BODY, HttpSink
from safecampus.orgs.models import Unit, UnitKind
from safecampus.worker.models import Heartbeat, Timer
from safecampus.worker.timers import on_timer

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent

# The WeCom-shaped robot: the real path and a key, on the local receiver.
ROBOT_PATH = "/robot/cgi-bin/webhook/send"
ROBOT_KEY = "benchrobot01"


class RemoteSink:
    """HttpSink in a child process, so the sink's own work does not share the measured
    process (and its GIL) with the worker; requests come back as (path, key, at).

    `delays`: {path prefix: seconds} to wait before answering a request whose path starts
    with it (a slow receiver; one that waits past the sender's timeout never answers).
    Each request is logged when it arrives, before any wait: one whose sender gave up or
    was killed is counted too.
    """

    def __init__(self, delays: dict[str, float] | None = None) -> None:
        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(
            target=self._serve, args=(child, dict(delays or {})), daemon=True
        )
        self._process.start()
        self.url = self._conn.recv()

    @staticmethod
    def _serve(conn: Connection, delays: dict[str, float]) -> None:
        def answer(request: Any) -> tuple[int, Any]:
            for prefix, seconds in delays.items():
                if request.path.startswith(prefix):
                    time.sleep(seconds)
                    break
            return 200, OK_BODY

        sink = HttpSink(handler=answer if delays else None).start()
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
        if self._process.is_alive():
            self._process.kill()


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


def bench_unit() -> Unit:
    """One unit that owns the channels of the fault benchmarks (made once)."""
    unit = Unit.objects.filter(code="BENCH").first()
    return unit or Unit.objects.add_root(
        instance=Unit(code="BENCH", name="基准测试局", kind=UnitKind.BUREAU)
    )


def webhooks(url: str, prefix: str, n: int) -> list[Channel]:
    """n webhook channels of the bench unit at <url><prefix><i>."""
    unit = bench_unit()
    return Channel.objects.bulk_create(
        Channel(
            unit=unit,
            kind="webhook",
            name=f"{prefix}{i}",
            config={"url": f"{url}{prefix}{i}", "secret": ""},
        )
        for i in range(n)
    )


def robot(url: str, name: str = "值班群机器人") -> Channel:
    """A WeCom group robot (20 messages a minute) whose address is the local receiver."""
    return Channel.objects.create(
        unit=bench_unit(),
        kind="wecom",
        name=name,
        config={"url": f"{url}{ROBOT_PATH}", "key": ROBOT_KEY},
    )


def post(channels: Sequence[Channel], title: str, urgency: str = Urgency.URGENT) -> str:
    """One notification to these channels, committed; returns one delivery's key."""
    notification = notification_create(
        event="bench",
        title=title,
        body="基准测试消息。",
        urgency=urgency,
        unit=bench_unit(),
        channels=channels,
    )
    return notification.deliveries.values_list("idempotency_key", flat=True).first() or ""


# --- A deadline, as an app's handler does it -------------------------------------------


DEADLINE = "bench.deadline"


@on_timer(DEADLINE)
def deadline(timer: Timer) -> None:
    """What an app's deadline handler does: one notification to the unit's robot (here a
    webhook); its title names the timer, so a timer fired twice shows as two."""
    channel = Channel.objects.get(pk=timer.payload["channel"])
    notification_create(
        event=DEADLINE,
        title=f"deadline {timer.pk}",
        body="今日安全日报已过截止时间，请尽快填报。",
        urgency=Urgency.URGENT,
        unit=channel.unit,
        channels=[channel],
    )


# --- Worker processes ------------------------------------------------------------------


def _shorten_robot_window() -> None:
    """BENCH_ROBOT_WINDOW=<s> (set by a bench for its worker processes): the WeCom robot's
    20 a minute becomes 20 in <s> seconds, so a rate-limit run takes seconds, not minutes."""
    seconds = os.environ.get("BENCH_ROBOT_WINDOW")
    if seconds:
        from safecampus.notify.channels.wecom.transport import WeComTransport

        WeComTransport.rate_limits = ((WeComTransport.rate_limits[0][0], int(seconds)),)


_shorten_robot_window()

# `manage.py worker` in a process of its own, with the bench's timer handler registered.
_LAUNCH = (
    "import sys; sys.path.insert(0, {bench!r}); import django; django.setup(); "
    "import bench_common; from django.core.management import execute_from_command_line; "
    "execute_from_command_line(['manage.py', 'worker', *sys.argv[1:]])"
)


class WorkerProcess:
    """One `manage.py worker` process (the command as an operator runs it), its output in a
    log file; kill() is SIGKILL, as a crash or the OOM killer does it."""

    def __init__(self, label: str, args: Sequence[str] = (), env: dict[str, str] | None = None):
        self.label = label
        self.args = list(args)
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.log = Path(os.environ["VAR_DIR"]) / f"worker-{label}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> "WorkerProcess":
        self.starts += 1
        with open(self.log, "ab") as log:
            log.write(f"--- start {self.starts} at {time.time():.3f}\n".encode())
            log.flush()
            self.process = subprocess.Popen(  # noqa: S603 (this interpreter, our command)
                [sys.executable, "-c", _LAUNCH.format(bench=str(BENCH)), *self.args],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, timeout: float = 30.0) -> bool:
        """Until its first heartbeat (it has been through a round), or it died."""
        deadline = time.monotonic() + timeout
        suffix = f":{self.pid}"
        while time.monotonic() < deadline and self.alive():
            if Heartbeat.objects.filter(name__endswith=suffix).exists():
                return True
            time.sleep(0.05)
        return False

    def kill(self) -> None:
        if self.alive():
            assert self.process is not None
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (the worker finishes what it has in hand), SIGKILL after `timeout`."""
        if self.alive():
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_workers(
    count: int, label: str, args: Sequence[str] = (), env: dict[str, str] | None = None
) -> list[WorkerProcess]:
    """`count` worker processes, each through its first round (its heartbeat written)."""
    workers = [WorkerProcess(f"{label}{i}", args, env).start() for i in range(count)]
    for worker in workers:
        if not worker.wait_ready():
            sys.exit(f"bench: worker {worker.label} did not start:\n{worker.tail()}")
    return workers


def stop_all(workers: Iterable[WorkerProcess]) -> None:
    for worker in workers:
        worker.stop()


# --- Figures ---------------------------------------------------------------------------


def wait_until(check: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


def most_in_window(times: Iterable[float], seconds: float) -> int:
    """The most of these instants that fall in any window [t, t + seconds)."""
    ordered = sorted(times)
    return max(
        (bisect_left(ordered, t + seconds) - i for i, t in enumerate(ordered)),
        default=0,
    )


def percentiles(values: Sequence[float]) -> str:
    """min, median, p90, max of these values (already in the unit printed beside them)."""
    if not values:
        return "none"
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return f"min {ordered[0]:.2f}, median {at(0.5):.2f}, p90 {at(0.9):.2f}, max {ordered[-1]:.2f}"


def now_ts() -> float:
    return timezone.now().timestamp()

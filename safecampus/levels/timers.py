"""The worker's part: an order's messages are handed to the channels after the issuer's commit
(services.order_fan_out, once per order however often the timer fires)."""

from safecampus.worker.models import Timer
from safecampus.worker.timers import on_timer

from . import services


@on_timer(services.FAN_OUT)
def fan_out(timer: Timer) -> None:
    services.order_fan_out(order_id=int(timer.payload["order"]))

"""What the worker does when a notice's acknowledgement deadline passes."""

from safecampus.worker.models import Timer
from safecampus.worker.timers import on_timer

from . import services
from .models import Notice


@on_timer(services.ACK_TIMER)
def ack_deadline(timer: Timer) -> None:
    notice = (
        Notice.objects.select_related("sender_unit", "sent_by")
        .filter(pk=timer.payload.get("notice"))
        .first()
    )
    if notice is not None:
        services.notice_ack_deadline_passed(notice=notice)

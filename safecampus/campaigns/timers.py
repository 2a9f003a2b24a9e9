"""The worker's part: at the end of each campaign (the local midnight after its last day) each
unit that has not written its summary is asked for one (services.summaries_request: once). The
timer is planned when the campaign is launched; a worker that starts plans it again for any
campaign not yet asked (by key: never twice)."""

import datetime as dt

from django.utils import timezone

from safecampus.worker.models import Timer
from safecampus.worker.timers import on_timer, on_worker_start

from . import services
from .models import Campaign


@on_worker_start
def plan_requests() -> None:
    today = timezone.localdate()
    for campaign in Campaign.objects.filter(
        summaries_requested_at__isnull=True, ends_on__gte=today - dt.timedelta(days=30)
    ):
        services.plan_summary_request(campaign)


@on_timer(services.SUMMARIES)
def request_summaries(timer: Timer) -> None:
    services.summaries_request(campaign_id=timer.payload["campaign"])

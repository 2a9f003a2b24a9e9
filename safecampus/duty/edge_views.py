"""Pages of spot checks (查岗), the calendar feed link, and the roster's export and print
view. The answer link and the feed work without logging in: their tokens are the key."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from safecampus.orgs import access

from . import export, feeds, selectors, spotchecks
from .models import SpotCheck


def _month(value: str | None) -> dt.date:
    try:
        year, month = (value or "").split("-")
        return dt.date(int(year), int(month), 1)
    except ValueError:
        return timezone.localdate().replace(day=1)


def _day(value: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value or "")
    except ValueError:
        return default


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


# --- Spot checks -------------------------------------------------------------------------


def spot_answer(request: HttpRequest, token: str) -> HttpResponse:
    """The one-tap link from the message: this check, this person; no login needed."""
    found = spotchecks.from_token(token)
    if found is None or not spotchecks.was_sent_to(*found):
        raise Http404
    check, person = found
    if request.method == "POST":
        check = spotchecks.spot_check_answer(check=check, by=person)
    return render(
        request,
        "duty/edge/spot_answer.html",
        {"check": check, "person": person, "outcome": spotchecks.outcome(check)},
    )


@login_required
@require_POST
def spot_answer_here(request: HttpRequest, pk: int) -> HttpResponse:
    """The button on the pages of the person it was sent to."""
    check = SpotCheck.objects.filter(pk=pk).first()
    if check is None or not spotchecks.was_sent_to(check, request.user):
        raise Http404
    check = spotchecks.spot_check_answer(check=check, by=request.user)
    if spotchecks.outcome(check) == spotchecks.Outcome.LATE:
        messages.warning(request, _("Answered, after the limit: recorded as late."))
    else:
        messages.success(request, _("Answered in time."))
    return redirect("duty:spot-mine")


@login_required
def spot_mine(request: HttpRequest) -> HttpResponse:
    """Spot checks waiting for my answer, and the units whose spot checks I see (send,
    list): the menu's "Spot checks"."""
    units = [
        u for u in selectors.duty_units(request.user) if access.can_see_spot_checks(request.user, u)
    ]
    return render(
        request,
        "duty/edge/spot_mine.html",
        {"checks": spotchecks.spot_checks_waiting_for(request.user), "units": units},
    )


@login_required
def spot_checks(request: HttpRequest, pk: int) -> HttpResponse:
    """A unit's subtree: the month's checks per unit (on time / late / missed), the list,
    and the forms to send one or a sample."""
    unit = access.unit_or_404(request.user, pk)
    access.require(access.can_see_spot_checks(request.user, unit))
    month = _month(request.GET.get("month"))
    if request.method == "POST":
        access.require(access.can_spot_check(request.user, unit) or access.runs(request.user, unit))
        try:
            if request.POST.get("sample"):
                try:
                    sample = int(request.POST["sample"])
                except ValueError:
                    sample = 0
                sent = spotchecks.spot_check_send_batch(by=request.user, root=unit, sample=sample)
                messages.success(request, _("Spot checks sent to %(n)d units.") % {"n": len(sent)})
            else:
                spotchecks.spot_check_send(by=request.user, unit=unit)
                messages.success(request, _("Spot check sent."))
        except ValidationError as exc:
            _errors(request, exc)
        return redirect("duty:spot-checks", pk=unit.pk)
    checks = list(spotchecks.spot_checks_of(request.user, unit=unit, month=month)[:200])
    now = timezone.now()
    return render(
        request,
        "duty/edge/spot_checks.html",
        {
            "unit": unit,
            "month": month,
            "tally": spotchecks.spot_check_tally(request.user, unit=unit, month=month),
            "checks": [(c, spotchecks.outcome(c, now), spotchecks.lateness(c)) for c in checks],
            "can_send_one": access.can_spot_check(request.user, unit),
            "can_send_sample": access.runs(request.user, unit),
        },
    )


# --- The calendar feed -------------------------------------------------------------------


@login_required
def feed_page(request: HttpRequest) -> HttpResponse:
    access.require(access.can_subscribe_shifts(request.user))
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            feeds.calendar_feed_revoke(person=request.user)
            messages.success(request, _("The link is revoked: calendars using it stop updating."))
        else:
            feeds.calendar_feed_create(person=request.user)
            messages.success(request, _("A new link is ready. Any older link no longer works."))
        return redirect("duty:feed-page")
    feed = feeds.feed_active(request.user)
    url = (
        request.build_absolute_uri(reverse("duty:feed", kwargs={"token": feed.token}))
        if feed is not None
        else ""
    )
    return render(request, "duty/edge/feed.html", {"feed": feed, "url": url})


def feed(request: HttpRequest, token: str) -> HttpResponse:
    found = feeds.feed_by_token(token)
    if found is None:
        raise Http404
    response = HttpResponse(
        feeds.feed_ics(found.person), content_type="text/calendar; charset=utf-8"
    )
    response["Cache-Control"] = "private, max-age=300"
    response["Content-Disposition"] = 'inline; filename="duty.ics"'
    return response


# --- Export and print --------------------------------------------------------------------


def _range(request: HttpRequest) -> tuple[dt.date, dt.date]:
    month = _month(request.GET.get("month"))
    last_of_month = (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    first = _day(request.GET.get("from"), month)
    last = _day(request.GET.get("to"), last_of_month if "from" not in request.GET else first)
    if "week" in request.GET:
        first = _day(request.GET.get("week"), timezone.localdate())
        first -= dt.timedelta(days=first.weekday())
        last = first + dt.timedelta(days=6)
    if last < first or (last - first).days > 366:
        raise Http404
    return first, last


@login_required
def roster_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    unit = access.unit_or_404(request.user, pk)
    first, last = _range(request)
    data = export.roster_workbook(unit, first, last, by=request.user.name)
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    name = f"roster-{unit.code}-{first:%Y%m%d}-{last:%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def roster_print(request: HttpRequest, pk: int) -> HttpResponse:
    """One A4 page a week (print CSS: static/css/duty-print.css)."""
    unit = access.unit_or_404(request.user, pk)
    first, last = _range(request)
    return render(
        request,
        "duty/edge/roster_print.html",
        {
            "unit": unit,
            "weeks": export.roster_weeks(unit, first, last),
            "first": first,
            "last": last,
        },
    )

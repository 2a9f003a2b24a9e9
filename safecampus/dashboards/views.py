"""My work (工作台): what needs the user's attention today. Later capabilities add panels."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from safecampus.levels.selectors import my_order_units
from safecampus.orgs import access, selectors
from safecampus.orgs.models import Membership, UnitKind
from safecampus.reports.official_calendar import calendar_warning

from . import selectors as mine


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    memberships = list(
        Membership.objects.filter(person=user, unit__archived_at__isnull=True)
        .select_related("unit")
        .order_by("unit__depth", "role")
    )
    units = access.units_visible(user, include_archived=False)
    unassigned = selectors.areas_unassigned(user)
    return render(
        request,
        "dashboards/home.html",
        {
            "memberships": memberships,
            "school_count": units.filter(kind__in=[UnitKind.SCHOOL, UnitKind.KINDERGARTEN]).count(),
            "unit_count": units.count(),
            "unassigned_count": unassigned.count(),
            "unassigned": unassigned.order_by("unit__path", "name")[:20],
            # What a reporter opens the app for: today's report, the notices waiting.
            "own_reports": mine.own_reports(
                user, timezone.localdate(), [m.unit for m in memberships]
            ),
            "notices_waiting": mine.notices_waiting(user),
            # An alert-level order the user's units have still to confirm.
            "orders_to_confirm": my_order_units(user),
            # From November: next year's official calendar is not loaded.
            "calendar_missing": calendar_warning(user, timezone.localdate()),
            "can_edit_calendar": access.can_edit_calendar(user),
        },
    )

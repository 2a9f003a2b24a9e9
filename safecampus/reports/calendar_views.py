"""The official calendar page (/reports/calendar/): the system administrator lists a
year's holidays and make-up workdays, adds, changes and removes a day, loads a year
from the holidays package, and imports the State Council's list."""

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from safecampus.lib.xlsx import XLSX_MIME
from safecampus.orgs import access
from safecampus.orgs.forms import apply_errors

from . import calendar_import, official_calendar
from .models import CalendarDay, CalendarKind


class DayForm(forms.Form):
    date = forms.DateField(
        label=gettext_lazy("date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("kind"), choices=CalendarKind.choices, widget=forms.RadioSelect
    )
    name = forms.CharField(
        label=gettext_lazy("name"),
        max_length=official_calendar.NAME_MAX,
        required=False,
        help_text=gettext_lazy("e.g. 春节, or 春节调休上班 for a make-up workday"),
    )


class ImportForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("The list, one day or range a line"),
        required=False,
        max_length=calendar_import.MAX_TEXT,
        widget=forms.Textarea(
            attrs={
                "rows": 8,
                "placeholder": "2028-01-26~2028-02-01 放假 春节\n2028-01-23 上班 春节调休上班",
            }
        ),
    )
    workbook = forms.FileField(
        label=gettext_lazy("or the template workbook (.xlsx)"), required=False
    )

    def clean_workbook(self) -> Any:
        upload = self.cleaned_data.get("workbook")
        if upload is None:
            return None
        if not upload.name.lower().endswith(".xlsx"):
            raise ValidationError(_("Upload an Excel workbook (.xlsx)."))
        if upload.size > calendar_import.MAX_UPLOAD:
            raise ValidationError(_("The file is larger than 1 MB."))
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("workbook") and not (data.get("text") or "").strip():
            raise ValidationError(_("Paste the list or choose the workbook."))
        return data


def _year(value: Any, default: int) -> int:
    try:
        year = int(value)
    except (TypeError, ValueError):
        return default
    return year if official_calendar.MIN_YEAR <= year <= official_calendar.MAX_YEAR else default


def _default_year() -> int:
    today = timezone.localdate()
    return official_calendar.year_missing(today) or today.year


def _page(request: HttpRequest, year: int, status: int = 200, **context: Any) -> HttpResponse:
    edit = None
    if request.method == "GET" and request.GET.get("edit"):
        edit = CalendarDay.objects.filter(date=_parse(request.GET["edit"])).first()
    form = context.pop("form", None) or DayForm(
        initial={"date": edit.date, "kind": edit.kind, "name": edit.name}
        if edit
        else {"kind": CalendarKind.HOLIDAY}
    )
    days = official_calendar.year_days(year)
    return render(
        request,
        "reports/official_calendar.html",
        {
            "year": year,
            "state": official_calendar.year_state(year),
            "days": days,
            "make_up_days": sum(1 for d in days if d.is_workday and d.changes_the_day),
            "form": form,
            "import_form": context.pop("import_form", None) or ImportForm(),
            "editing": edit,
            "years": range(timezone.localdate().year - 2, timezone.localdate().year + 3),
            **context,
        },
        status=status,
    )


def _parse(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _back(year: int) -> HttpResponse:
    return redirect(f"{reverse('reports:official-calendar')}?year={year}")


@login_required
def calendar_page(request: HttpRequest) -> HttpResponse:
    access.require(access.can_edit_calendar(request.user))
    year = _year(request.GET.get("year"), _default_year())
    if request.method != "POST":
        return _page(request, year)
    form = DayForm(request.POST)
    if form.is_valid():
        day = form.cleaned_data["date"]
        try:
            official_calendar.calendar_day_set(
                by=request.user,
                day=day,
                is_workday=form.cleaned_data["kind"] == CalendarKind.WORKDAY,
                name=form.cleaned_data["name"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("%(day)s saved.") % {"day": day.isoformat()})
            return _back(day.year)
    return _page(request, year, status=422, form=form)


@login_required
@require_POST
def calendar_remove(request: HttpRequest, day: str) -> HttpResponse:
    access.require(access.can_edit_calendar(request.user))
    date = _parse(day)
    if date is None:
        raise Http404
    try:
        official_calendar.calendar_day_remove(by=request.user, day=date)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(day)s removed.") % {"day": date.isoformat()})
    return _back(date.year)


@login_required
@require_POST
def calendar_seed(request: HttpRequest) -> HttpResponse:
    access.require(access.can_edit_calendar(request.user))
    year = _year(request.POST.get("year"), _default_year())
    try:
        (result,) = official_calendar.calendar_seed([year], by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _back(year)
    return _page(request, year, seed=result)


@login_required
@require_POST
def calendar_confirm(request: HttpRequest) -> HttpResponse:
    access.require(access.can_edit_calendar(request.user))
    year = _year(request.POST.get("year"), _default_year())
    try:
        official_calendar.calendar_year_confirm(by=request.user, year=year)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(year)d is marked as the official list.") % {"year": year})
    return _back(year)


@login_required
@require_POST
def calendar_upload(request: HttpRequest) -> HttpResponse:
    access.require(access.can_edit_calendar(request.user))
    year = _year(request.POST.get("year"), _default_year())
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, year, status=422, import_form=form)
    result = calendar_import.calendar_import(
        by=request.user,
        year=year,
        text=form.cleaned_data.get("text") or "",
        file=form.cleaned_data.get("workbook"),
    )
    replaced = result.replaced
    if not result.ok or replaced is None:
        return _page(request, year, status=422, import_form=form, import_result=result)
    messages.success(
        request,
        _(
            "Imported the list for %(year)d: %(added)d days added, %(changed)d changed, "
            "%(removed)d removed; %(make_up)d make-up workdays."
        )
        % {
            "year": year,
            "added": replaced.added,
            "changed": replaced.changed,
            "removed": replaced.removed,
            "make_up": replaced.make_up_days,
        },
    )
    if not replaced.make_up_days:
        messages.warning(
            request,
            _("The list has no make-up workdays: check the State Council's notice."),
        )
    return _back(year)


@login_required
def calendar_template(request: HttpRequest) -> HttpResponse:
    access.require(access.can_edit_calendar(request.user))
    response = HttpResponse(calendar_import.template_workbook(), content_type=XLSX_MIME)
    response["Content-Disposition"] = (
        "attachment; filename*=UTF-8''safecampus-calendar-template.xlsx"
    )
    return response

"""Input forms for the report pages. They validate shape; services decide the rest."""

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from safecampus.orgs.models import Unit

from .models import (
    CORRECTION_REASON_MAX,
    ITEM_TEXT_MAX,
    REPORT_MAX_ITEMS,
    Frequency,
    ReportSchedule,
)

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
# A period on one page (ranking, register): at most a year.
MAX_PERIOD_DAYS = 366


class ItemForm(forms.Form):
    """One item of a report: what happened and the measures taken. Room is kept in the
    stored item for links to incidents and hazards."""

    what = forms.CharField(
        label=_("What happened"),
        max_length=ITEM_TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    measures = forms.CharField(
        label=_("Measures taken"),
        max_length=ITEM_TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("measures", "").strip() and not data.get("what", "").strip():
            self.add_error("what", _("Say what happened."))
        return data


# Three rows to start with; more are refused beyond what a report may hold (the
# service's limit, reports.models), not silently dropped.
ItemFormSet = forms.formset_factory(
    ItemForm,
    extra=0,
    min_num=3,
    max_num=REPORT_MAX_ITEMS,
    validate_max=True,
    absolute_max=REPORT_MAX_ITEMS,
)


def items_of(formset: Any) -> list[dict[str, str]]:
    """The items the user filled in (blank rows are left out)."""
    return [
        {"what": f.cleaned_data["what"].strip(), "measures": f.cleaned_data["measures"].strip()}
        for f in formset.forms
        if f.cleaned_data.get("what", "").strip()
    ]


class ReportForm(forms.Form):
    """A report with items, or a correction of the day's report (with a reason)."""

    zero = forms.BooleanField(
        label=_("Nothing happened today (zero report)"),
        required=False,
    )
    reason = forms.CharField(
        label=_("Reason for the correction"),
        max_length=CORRECTION_REASON_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, correcting: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.correcting = correcting
        if not correcting:
            del self.fields["reason"]

    def clean_reason(self) -> str:
        reason = self.cleaned_data.get("reason", "").strip()
        if self.correcting and not reason:
            raise ValidationError(_("A correction needs a reason."))
        return reason


SCHEDULE_FIELDS = [
    "name",
    "frequency",
    "every_weeks",
    "starts_on",
    "ends_on",
    "deadline_department",
    "deadline_department_next_day",
    "deadline_school",
    "deadline_school_next_day",
    "deadline_group",
    "deadline_group_next_day",
    "deadline_bureau",
    "deadline_bureau_next_day",
]
SCHEDULE_WIDGETS = {
    "starts_on": DATE_INPUT,
    "ends_on": DATE_INPUT,
    "deadline_department": TIME_INPUT,
    "deadline_school": TIME_INPUT,
    "deadline_group": TIME_INPUT,
    "deadline_bureau": TIME_INPUT,
}


class ScheduleEditForm(forms.ModelForm):
    """A schedule's days, period and deadlines; a deadline may be after midnight (its
    "next day" box). The units it covers are not edited here."""

    class Meta:
        model = ReportSchedule
        fields = SCHEDULE_FIELDS
        widgets = SCHEDULE_WIDGETS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["frequency"].choices = Frequency.choices
        self.fields["every_weeks"].help_text = _("Only for “every N weeks”.")
        self.fields["deadline_bureau_next_day"].help_text = _(
            "Tick “the next day” for a deadline after midnight (an evening report: schools "
            "by 23:00, the bureau by 00:30 the next day)."
        )

    def _post_clean(self) -> None:
        # The service validates and saves; this form only checks shape.
        pass


class ScheduleForm(ScheduleEditForm):
    root = forms.ModelChoiceField(label=_("units under"), queryset=Unit.objects.none())

    class Meta(ScheduleEditForm.Meta):
        fields = ["name", "root", *SCHEDULE_FIELDS[1:]]

    def __init__(self, *args: Any, roots: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["root"].queryset = roots


class ExemptionForm(forms.Form):
    date = forms.DateField(label=_("date"), widget=DATE_INPUT)
    reason = forms.CharField(
        label=_("reason"), max_length=200, help_text=_("Holiday, closure, weather…")
    )


class DayForm(forms.Form):
    """The date picker of the status page."""

    date = forms.DateField(label=_("date"), required=False, widget=DATE_INPUT)


class PeriodForm(forms.Form):
    """From–to of the ranking and the register."""

    start = forms.DateField(label=_("from"), required=False, widget=DATE_INPUT)
    end = forms.DateField(label=_("to"), required=False, widget=DATE_INPUT)

    def __init__(self, data: Any, *, default_start: dt.date, default_end: dt.date) -> None:
        # The query string says from= and to=; `from` cannot be a field name.
        fields = {"start": data.get("from", ""), "end": data.get("to", "")}
        super().__init__(fields)
        self.default_start = default_start
        self.default_end = default_end

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start = data.get("start") or self.default_start
        end = data.get("end") or self.default_end
        if end < start:
            raise ValidationError(_("The end is before the start."))
        if (end - start).days >= MAX_PERIOD_DAYS:
            raise ValidationError(_("Choose a period of at most a year."))
        data["start"], data["end"] = start, end
        return data

    def period(self) -> tuple[dt.date, dt.date]:
        if self.is_valid():
            return self.cleaned_data["start"], self.cleaned_data["end"]
        return self.default_start, self.default_end

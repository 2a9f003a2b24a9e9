"""The campaign's forms: launching one, a phase, a task, a seat in the leadership group, what it
switches on, marking a task done, a summary. The services check again; their errors land on the
fields."""

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from safecampus.hazards.models import Category, RoundKind
from safecampus.levels.models import Level
from safecampus.orgs.forms import PersonChoiceField
from safecampus.orgs.models import Person, Position
from safecampus.reports.models import Frequency

from .models import (
    DETAIL_MAX,
    DUTY_MAX,
    GOAL_MAX,
    NAME_MAX,
    NOTE_MAX,
    SUMMARY_DAYS,
    SUMMARY_DAYS_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    Phase,
)

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


def _units_field(label: Any, units: Any) -> forms.ModelChoiceField:
    field = forms.ModelChoiceField(label=label, queryset=units)
    field.label_from_instance = lambda u: u.name
    return field


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=NAME_MAX)
    goal = forms.CharField(
        label=_("Goal"), max_length=GOAL_MAX, widget=forms.Textarea(attrs={"rows": 4})
    )
    starts_on = forms.DateField(label=_("From"), widget=DATE)
    ends_on = forms.DateField(label=_("Until"), widget=DATE)
    summary_days = forms.IntegerField(
        label=_("Days after the end for the units' summaries"),
        min_value=1,
        max_value=SUMMARY_DAYS_MAX,
        initial=SUMMARY_DAYS,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields = {"unit": _units_field(_("For the units under"), units), **self.fields}


class PhaseForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=NAME_MAX)
    starts_on = forms.DateField(label=_("From"), widget=DATE)
    ends_on = forms.DateField(label=_("Until"), widget=DATE)


class TaskForm(forms.Form):
    phase = forms.ModelChoiceField(label=_("Phase"), queryset=Phase.objects.none())
    title = forms.CharField(label=_("Task"), max_length=TITLE_MAX)
    detail = forms.CharField(
        label=_("What to do (optional)"),
        max_length=DETAIL_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    due_on = forms.DateField(label=_("Each unit by"), widget=DATE)

    def __init__(self, *args: Any, phases: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["phase"].queryset = phases
        self.fields["phase"].label_from_instance = lambda p: (
            f"{p.name} ({p.starts_on:%m-%d} – {p.ends_on:%m-%d})"
        )


class MemberForm(forms.Form):
    person = PersonChoiceField(label=_("Person"), queryset=Person.objects.none())
    position = forms.ChoiceField(label=_("Seat"), choices=Position.choices)
    duty = forms.CharField(label=_("Answers for (optional)"), max_length=DUTY_MAX, required=False)

    def __init__(self, *args: Any, people: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = people


class ScheduleSwitchForm(forms.Form):
    name = forms.CharField(label=_("Name of the schedule"), max_length=100)
    frequency = forms.ChoiceField(
        label=_("Days"),
        choices=[
            (Frequency.DAILY, Frequency.DAILY.label),
            (Frequency.WORKDAYS, Frequency.WORKDAYS.label),
        ],
    )
    deadline_school = forms.TimeField(label=_("Schools by"), widget=TIME, initial=dt.time(13, 30))
    deadline_group = forms.TimeField(
        label=_("Township groups by"), widget=TIME, initial=dt.time(14, 0)
    )
    deadline_bureau = forms.TimeField(
        label=_("Bureau office by"), widget=TIME, initial=dt.time(14, 0)
    )

    def __init__(self, *args: Any, roots: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields = {"root": _units_field(_("For the units under"), roots), **self.fields}


class RoundSwitchForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=RoundKind.choices)
    title = forms.CharField(label=_("Title"), max_length=200)
    starts_on = forms.DateField(label=_("From"), widget=DATE)
    ends_on = forms.DateField(label=_("Until"), widget=DATE)
    categories = forms.MultipleChoiceField(
        label=_("Checklists"),
        choices=Category.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose one or more categories.")},
    )


LEVELS = [
    (Level.ENHANCED, Level.ENHANCED.label),
    (Level.EXTRAORDINARY, Level.EXTRAORDINARY.label),
]


class OrdersForm(forms.Form):
    """One or two orders on given days: "level 2 for the first week, then level 1 until the
    end"."""

    level_1 = forms.TypedChoiceField(label=_("First order: level"), choices=LEVELS, coerce=int)
    from_1 = forms.DateField(label=_("From"), widget=DATE)
    until_1 = forms.DateField(label=_("Until"), widget=DATE)
    level_2 = forms.TypedChoiceField(
        label=_("Then (optional): level"),
        choices=[("", _("No second order")), *LEVELS],
        coerce=int,
        empty_value=None,
        required=False,
    )
    from_2 = forms.DateField(label=_("From"), widget=DATE, required=False)
    until_2 = forms.DateField(label=_("Until"), widget=DATE, required=False)
    reason = forms.CharField(
        label=_("Reason (empty: the campaign's name)"), max_length=500, required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("level_2"):
            for name in ("from_2", "until_2"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, _("Give the day, or choose no second order."))
        return data


class DoneForm(forms.Form):
    note = forms.CharField(
        label=_("Note (optional)"),
        max_length=NOTE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class SummaryForm(forms.Form):
    text = forms.CharField(
        label=_("Summary of the work done"),
        max_length=SUMMARY_MAX,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_("What was done, what was found and fixed, what is left."),
    )

"""Input forms of the duty pages. They validate shape; the services decide the rest."""

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from safecampus.orgs.forms import PersonChoiceField

from .models import DayKind, LogKind, Shift
from .services import LOG_TEXT_MAX, NAME_MAX, NOTE_MAX, PHONE_MAX, shift_label

TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class PeopleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.name


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=NAME_MAX)
    start = forms.TimeField(label=_("starts"), widget=TIME_INPUT)
    end = forms.TimeField(
        label=_("ends"),
        widget=TIME_INPUT,
        help_text=_("Not after the start: the shift ends the next day (a night shift)."),
    )
    order = forms.IntegerField(label=_("order"), min_value=0, max_value=99, initial=0)


class SlotForm(forms.Form):
    """Who holds a shift on days of a kind."""

    day_kind = forms.ChoiceField(label=_("days"), choices=DayKind.choices)
    leader = PersonChoiceField(label=_("leader on duty"), queryset=None, required=False)
    staff = PeopleChoiceField(
        label=_("duty staff"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, people: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["leader"].queryset = people
        self.fields["staff"].queryset = people


class MonthForm(forms.Form):
    month = forms.DateField(
        label=_("month"),
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )


class SettingsForm(forms.Form):
    duty_phone = forms.CharField(label=_("duty phone"), max_length=32, required=False)
    remind_minutes = forms.IntegerField(
        label=_("remind before a shift (minutes)"), min_value=0, max_value=1440
    )
    spot_check_minutes = forms.IntegerField(
        label=_("spot-check answer limit (minutes)"), min_value=1, max_value=120
    )


class LogForm(forms.Form):
    kind = forms.ChoiceField(label=_("kind"), choices=LogKind.choices, initial=LogKind.PATROL)
    text = forms.CharField(
        label=_("what happened"),
        max_length=LOG_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    at = forms.DateTimeField(
        label=_("time"),
        required=False,
        widget=DATETIME_INPUT,
        help_text=_("Empty: now."),
    )


class HandoverForm(forms.Form):
    note = forms.CharField(
        label=_("handover note"),
        max_length=NOTE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ShiftForm(forms.Form):
    """One shift added or changed by hand."""

    name = forms.CharField(label=_("name"), max_length=NAME_MAX)
    starts_at = forms.DateTimeField(label=_("starts"), widget=DATETIME_INPUT)
    ends_at = forms.DateTimeField(
        label=_("ends"), widget=DATETIME_INPUT, help_text=_("A shift lasts at most 24 hours.")
    )
    leader = PersonChoiceField(label=_("leader on duty"), queryset=None, required=False)
    staff = PeopleChoiceField(
        label=_("duty staff"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    phone = forms.CharField(
        label=_("duty phone"),
        max_length=PHONE_MAX,
        required=False,
        help_text=_("Empty: the unit's duty phone."),
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel"}),
    )

    def __init__(self, *args: Any, people: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["leader"].queryset = people
        self.fields["staff"].queryset = people


class SwapForm(forms.Form):
    to_person = PersonChoiceField(label=_("asked of"), queryset=None)
    in_exchange = forms.ModelChoiceField(
        label=_("in exchange for"),
        queryset=None,
        required=False,
        empty_label=_("nothing: they take my place"),
        help_text=_("One of their shifts that you take in return."),
    )
    reason = forms.CharField(label=_("reason"), max_length=200, required=False)

    def __init__(
        self, *args: Any, people: Any, exchange: list[tuple[Any, list[Any]]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_person"].queryset = people
        field = self.fields["in_exchange"]
        field.queryset = Shift.objects.filter(
            pk__in=[s.pk for _person, shifts in exchange for s in shifts]
        )
        # Grouped by the person holding them: only the person asked's shifts will do.
        field.choices = [("", field.empty_label)] + [
            (person.name, [(s.pk, shift_label(s)) for s in shifts]) for person, shifts in exchange
        ]


def month_of(value: str | None, default: dt.date) -> dt.date:
    """The ?month=YYYY-MM of a page (its first day), or the default's month."""
    try:
        year, month = (int(x) for x in (value or "").split("-"))
        return dt.date(year, month, 1)
    except (ValueError, TypeError):
        return default.replace(day=1)

"""Recording a drill on a phone, its photos, and a unit's plan of a year. The services check
again; their errors land on the fields, and what was typed stays."""

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from safecampus.hazards.forms import PhotosField

from .models import (
    MAX_FLOORS,
    MAX_PEOPLE,
    MAX_PLANNED,
    MAX_PROBLEMS,
    NOTE_MAX,
    PROBLEM_MAX,
    RESULT_MAX,
    Kind,
)

NUMBER = {"inputmode": "numeric"}
# "1:45", "1：45" (a Chinese keyboard's colon), "0:58"; minutes alone ("3") are whole minutes.
MINUTES_SECONDS = re.compile(r"^\s*(\d{1,3})\s*(?:[:：]\s*(\d{1,2}))?\s*$")


def parse_minutes_seconds(text: str) -> int | None:
    """Minutes and seconds as typed ("1:45") in seconds (105); empty: None; else ValueError."""
    if not (text or "").strip():
        return None
    match = MINUTES_SECONDS.match(text)
    if match is None or (match.group(2) and int(match.group(2)) > 59):
        raise ValueError(text)
    return int(match.group(1)) * 60 + int(match.group(2) or 0)


class DrillForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=None)
    kind = forms.ChoiceField(label=_("Kind of drill"), choices=[("", "—"), *Kind.choices])
    held_at = forms.DateTimeField(
        label=_("Held at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    enrolled = forms.IntegerField(
        label=_("Pupils enrolled"),
        min_value=0,
        max_value=MAX_PEOPLE,
        widget=forms.NumberInput(NUMBER),
    )
    evacuated = forms.IntegerField(
        label=_("Pupils evacuated"),
        min_value=0,
        max_value=MAX_PEOPLE,
        widget=forms.NumberInput(NUMBER),
    )
    staff = forms.IntegerField(
        label=_("Staff taking part"),
        min_value=0,
        max_value=MAX_PEOPLE,
        widget=forms.NumberInput(NUMBER),
    )
    evacuation_time = forms.CharField(
        label=_("Time to evacuate (minutes:seconds)"),
        required=False,
        max_length=8,
        help_text=_("Target: 2:00 or less for a building of up to 4 floors."),
        widget=forms.TextInput(attrs={"placeholder": "1:45", "autocomplete": "off"}),
    )
    floors = forms.IntegerField(
        label=_("Floors of the building"),
        required=False,
        min_value=1,
        max_value=MAX_FLOORS,
        widget=forms.NumberInput(NUMBER),
    )
    roll_call_result = forms.CharField(
        label=_("Roll-call result"), required=False, max_length=RESULT_MAX
    )
    problems = forms.CharField(
        label=_("Problems found (one a line)"),
        required=False,
        max_length=MAX_PROBLEMS * (PROBLEM_MAX + 2),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    photos = PhotosField()

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        self.fields["unit"].label_from_instance = lambda u: u.name

    def clean_evacuation_time(self) -> int | None:
        try:
            return parse_minutes_seconds(self.cleaned_data.get("evacuation_time", ""))
        except ValueError:
            raise ValidationError(
                _("Write the time as minutes:seconds, for example 1:45.")
            ) from None

    def clean_problems(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["problems"].splitlines() if line.strip()]


class PhotosForm(forms.Form):
    photos = PhotosField(required=True, label=_("Add photos"))


class PlanForm(forms.Form):
    """One number a kind of drill."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind, label in Kind.choices:
            self.fields[kind] = forms.IntegerField(
                label=label,
                min_value=0,
                max_value=MAX_PLANNED,
                initial=0,
                widget=forms.NumberInput(NUMBER),
            )

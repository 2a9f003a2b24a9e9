"""Issuing an order and editing a level's measures. The services check again; their errors land
on the fields."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from safecampus.orgs.models import Unit

from .models import REASON_MAX, Level

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


class OrderForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Units under"), queryset=Unit.objects.none())
    level = forms.TypedChoiceField(
        label=_("Level"),
        choices=[
            (Level.ENHANCED, Level.ENHANCED.label),
            (Level.EXTRAORDINARY, Level.EXTRAORDINARY.label),
        ],
        coerce=int,
        widget=forms.RadioSelect,
    )
    starts_at = forms.DateTimeField(
        label=_("From"), widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS
    )
    ends_at = forms.DateTimeField(
        label=_("Until"), widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units


class MeasuresForm(forms.Form):
    lines = forms.CharField(
        label=_("Measures, one a line"),
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=20000,
    )

"""Hazard forms: report one (a phone, under a minute), the fix, the verification, the
supervision and the referral. The services check again; their errors land on the fields."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from safecampus.orgs.models import Area, Unit

from .models import Category, Severity

TEXT = forms.Textarea(attrs={"rows": 3})
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class HazardForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=Unit.objects.none())
    category = forms.ChoiceField(label=_("Category"), choices=[("", "—"), *Category.choices])
    description = forms.CharField(label=_("Description"), widget=TEXT, max_length=5000)
    area = forms.ModelChoiceField(label=_("Area"), queryset=Area.objects.none(), required=False)
    place = forms.CharField(label=_("Place"), max_length=200, required=False)
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)
    deadline = forms.DateField(label=_("Fix by (empty: in 30 days)"), required=False, widget=DATE)
    interim = forms.CharField(
        label=_("Interim measures"), widget=TEXT, max_length=5000, required=False
    )

    def __init__(self, *args: Any, units: Any, areas: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        self.fields["area"].queryset = areas
        self.fields["unit"].label_from_instance = lambda u: u.name
        self.fields["area"].label_from_instance = lambda a: f"{a.unit.name} · {a.name}"


class FixForm(forms.Form):
    note = forms.CharField(label=_("What was done"), widget=TEXT, max_length=5000)


class VerifyForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (to send it back)"), widget=TEXT, max_length=5000, required=False
    )


class ReferForm(forms.Form):
    authority = forms.CharField(label=_("Authority responsible"), max_length=200)


class AnswerForm(forms.Form):
    answer = forms.CharField(label=_("The authority's answer"), widget=TEXT, max_length=5000)

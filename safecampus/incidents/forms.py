"""The incident forms: the quick report (a phone, under a minute), the written report, a
follow-up and the final report. The services check again; their errors land on the fields."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from safecampus.orgs.models import Area, Unit

from .models import Category, Grade, Kind

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
TEXT = forms.Textarea(attrs={"rows": 3})


class QuickReportForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=Unit.objects.none())
    kind = forms.ChoiceField(label=_("Type"), choices=[("", "—")] + list(Kind.choices))
    summary = forms.CharField(
        label=_("What happened"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    place = forms.CharField(label=_("Where"), max_length=200, required=False)
    area = forms.ModelChoiceField(label=_("Area"), queryset=Area.objects.none(), required=False)
    injured = forms.IntegerField(label=_("People hurt"), min_value=0, max_value=100000, initial=0)
    emergency_called = forms.BooleanField(
        label=_("Emergency services called (119, 110, 120, 122)"), required=False
    )
    occurred_at = forms.DateTimeField(
        label=_("When (empty: now)"), required=False, widget=DATETIME_INPUT
    )

    def __init__(self, *args: Any, units: Any, areas: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        self.fields["area"].queryset = areas
        self.fields["unit"].label_from_instance = lambda u: u.name
        self.fields["area"].label_from_instance = lambda a: f"{a.unit.name} · {a.name}"


class WrittenReportForm(forms.Form):
    grade = forms.ChoiceField(label=_("Grade"), choices=Grade.choices)
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    source = forms.CharField(label=_("Source of the information"), max_length=200)
    scope = forms.CharField(label=_("Scope of impact"), widget=TEXT, max_length=5000)
    affected = forms.CharField(label=_("People affected"), widget=TEXT, max_length=5000)
    trend = forms.CharField(label=_("Trend"), widget=TEXT, max_length=5000)
    measures = forms.CharField(label=_("Measures taken"), widget=TEXT, max_length=5000)

    def __init__(self, *args: Any, categories: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = categories


class FollowUpForm(forms.Form):
    changes = forms.CharField(label=_("What changed"), widget=TEXT, max_length=5000)
    measures = forms.CharField(
        label=_("Measures taken since"), widget=TEXT, max_length=5000, required=False
    )
    grade = forms.ChoiceField(
        label=_("Grade (if it changed)"), choices=[("", "—")] + list(Grade.choices), required=False
    )


class FinalReportForm(forms.Form):
    cause = forms.CharField(label=_("Cause"), widget=TEXT, max_length=5000)
    handling = forms.CharField(label=_("Handling"), widget=TEXT, max_length=5000)
    losses = forms.CharField(label=_("Losses"), widget=TEXT, max_length=5000)
    lessons = forms.CharField(label=_("Lessons"), widget=TEXT, max_length=5000)
    corrective = forms.CharField(label=_("Corrective measures"), widget=TEXT, max_length=5000)


class PlanForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=100)
    roles = forms.CharField(label=_("Roles"), widget=TEXT, required=False, max_length=5000)
    steps = forms.CharField(
        label=_("Steps, one a line"), widget=forms.Textarea(attrs={"rows": 8}), max_length=12000
    )
    contacts = forms.CharField(label=_("Contacts"), widget=TEXT, required=False, max_length=5000)
    supplies = forms.CharField(label=_("Supplies"), widget=TEXT, required=False, max_length=5000)


class ClassCountForm(forms.Form):
    class_name = forms.CharField(label=_("Class"), max_length=40)
    present = forms.IntegerField(label=_("Present"), min_value=0, max_value=10000)
    absent = forms.IntegerField(label=_("Absent"), min_value=0, max_value=10000, initial=0)


class LimitForm(forms.Form):
    acknowledge_minutes = forms.IntegerField(
        label=_("Acknowledge within (minutes)"), min_value=1, max_value=24 * 60
    )
    written_minutes = forms.IntegerField(
        label=_("Written report within (minutes)"), min_value=5, max_value=7 * 24 * 60
    )
    follow_up_hours = forms.IntegerField(
        label=_("Follow-up every (hours)"), min_value=1, max_value=30 * 24
    )
    final_days = forms.IntegerField(
        label=_("Final report within (days)"), min_value=1, max_value=365
    )


class LocalCategoryForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=12, help_text=_("e.g. food, campus-loan"))
    name = forms.CharField(label=_("Name"), max_length=40)

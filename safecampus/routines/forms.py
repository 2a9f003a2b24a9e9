"""Recording a check on a phone (the fields its kind needs, nothing else) and a bureau's
setting of a kind. The services check again; their errors land on the fields."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import MAX_REQUIRED, NOTE_MAX, Applies, Code, Meal, Period

YES_NO = [("yes", _("Yes")), ("no", _("No"))]
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


def _yes_no(label: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=YES_NO,
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )


class RecordForm(forms.Form):
    """The fields of one kind of check; `at` empty is now."""

    at = forms.TimeField(label=_("At (empty: now)"), required=False, widget=TIME)

    def __init__(self, *args: Any, code: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields = self.fields
        if code == Code.FOOD_SAMPLE:
            fields["at"].label = _("Sampled at (empty: now)")
            fields["meal"] = forms.ChoiceField(label=_("Meal"), choices=Meal.choices)
            fields["dish"] = forms.CharField(label=_("Dish"), max_length=100)
            fields["grams"] = forms.IntegerField(
                label=_("Weight (g)"),
                min_value=1,
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )
            fields["who"] = forms.CharField(
                label=_("Sampled by (empty: you)"), max_length=64, required=False
            )
        if code == Code.MEAL:
            fields["meal"] = forms.ChoiceField(label=_("Meal"), choices=Meal.choices)
            fields["who"] = forms.CharField(
                label=_("Leader who ate with the pupils"), max_length=64
            )
        if code in (Code.FIRE_PATROL, Code.FIRE_CHECK):
            fields["exits_clear"] = _yes_no(_("Exits and stairways clear"))
            fields["extinguishers_ok"] = _yes_no(_("Extinguishers in place"))
            fields["hazards_found"] = _yes_no(_("Hazards found"))
        note = {
            Code.FIRE_PATROL: _("What was found (optional)"),
            Code.FIRE_CHECK: _("What was found (optional)"),
            Code.MEAL: _("Remarks"),
        }.get(code, _("Note"))
        fields["note"] = forms.CharField(
            label=note,
            max_length=NOTE_MAX,
            required=False,
            widget=forms.Textarea(attrs={"rows": 2}),
        )


class KindForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), choices=Period.choices)
    required = forms.IntegerField(
        label=_("Checks required per period"), min_value=1, max_value=MAX_REQUIRED
    )
    applies_to = forms.ChoiceField(label=_("Kept by"), choices=Applies.choices)
    remind_at = forms.TimeField(label=_("Remind those short at"), widget=TIME)
    active = forms.BooleanField(label=_("In use"), required=False)
    min_grams = forms.IntegerField(label=_("Least grams a food sample"), min_value=1)
    keep_hours = forms.IntegerField(label=_("Hours a food sample is kept"), min_value=1)

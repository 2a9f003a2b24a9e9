"""Hazard forms: report one (a phone, under a minute), the fix, the verification, the
supervision and the referral. The services check again; their errors land on the fields."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from safecampus.lib import images
from safecampus.orgs.models import Area, Unit

from .models import Category, Result, RoundKind, Severity

TEXT = forms.Textarea(attrs={"rows": 3})
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PhotosInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Up to MAX_PHOTOS photos from the phone's camera or gallery, each checked by what it is
    (lib.images): the cleaned value is a list of images.Photo. A refused photo names itself and
    the reason; the other fields keep what was typed."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Photos"))
        kwargs.setdefault(
            "widget", PhotosInput(attrs={"accept": "image/*", "data-testid": "photos"})
        )
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[images.Photo]:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if not files:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []
        if len(files) > 6:
            raise ValidationError(_("At most 6 photos at a time."))
        return [images.photo_read(f, name=getattr(f, "name", "")[:80]) for f in files]


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
    photos = PhotosField()

    def __init__(self, *args: Any, units: Any, areas: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        self.fields["area"].queryset = areas
        self.fields["unit"].label_from_instance = lambda u: u.name
        self.fields["area"].label_from_instance = lambda a: f"{a.unit.name} · {a.name}"


class FixForm(forms.Form):
    note = forms.CharField(label=_("What was done"), widget=TEXT, max_length=5000)
    photos = PhotosField(label=_("Photos after the fix"))


class VerifyForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (to send it back)"), widget=TEXT, max_length=5000, required=False
    )


class DeadlineForm(forms.Form):
    deadline = forms.DateField(label=_("New deadline"), widget=DATE)
    reason = forms.CharField(label=_("Why"), widget=TEXT, max_length=5000)


class ReferForm(forms.Form):
    authority = forms.CharField(label=_("Authority responsible"), max_length=200)


class AnswerForm(forms.Form):
    answer = forms.CharField(label=_("The authority's answer"), widget=TEXT, max_length=5000)


class LedgerImportForm(forms.Form):
    """An existing ledger (.xlsx); hazards.imports checks what is in it."""

    workbook = forms.FileField(
        label=_("Ledger (.xlsx)"),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "data-testid": "workbook",
            }
        ),
    )

    def clean_workbook(self) -> Any:
        upload = self.cleaned_data["workbook"]
        if not (upload.name or "").lower().endswith(".xlsx"):
            raise ValidationError(_("Upload an Excel workbook (.xlsx)."))
        return upload


class ChecklistForm(forms.Form):
    items = forms.CharField(
        label=_("Items, one to a line"), widget=forms.Textarea(attrs={"rows": 12}), max_length=30000
    )


class RoundForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("For the schools under"), queryset=Unit.objects.none())
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

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        self.fields["unit"].label_from_instance = lambda u: u.name


class ItemAnswerForm(forms.Form):
    result = forms.ChoiceField(label=_("Result"), choices=Result.choices, widget=forms.RadioSelect)
    note = forms.CharField(label=_("What is wrong"), max_length=1000, required=False)
    area = forms.ModelChoiceField(label=_("Area"), queryset=Area.objects.none(), required=False)
    photos = PhotosField()

    def __init__(self, *args: Any, areas: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas
        self.fields["area"].label_from_instance = lambda a: a.name

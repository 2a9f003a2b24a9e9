"""Input forms for the organisation pages. They validate shape; services decide the rest."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import (
    AdminRole,
    AreaKind,
    Person,
    Position,
    Role,
    SecurityPolicy,
    UnitKind,
    mask_mobiles_in,
    mobile_validator,
)


def apply_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: beside its field when the form has one."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


class PersonChoiceField(forms.ModelChoiceField):
    """A person picker (a unit's head, an area's responsible person, a seat, a role). It
    offers people the user may not see the number of (the bureau's, to a principal), and
    a username is often the mobile number: it is shown masked to everyone, as on the
    people page for those access.can_see_mobile does not let see it. The name tells
    people apart; the masked number's last digits tell two of one name apart."""

    def label_from_instance(self, obj: Person) -> str:
        return f"{obj.name}（{mask_mobiles_in(obj.username, obj.mobile)}）"


class UnitForm(forms.Form):
    code = forms.CharField(label=_("code"), max_length=32)
    name = forms.CharField(label=_("name"), max_length=100)
    kind = forms.ChoiceField(label=_("kind"), choices=UnitKind.choices)
    address = forms.CharField(label=_("address"), max_length=200, required=False)
    phone = forms.CharField(label=_("office phone"), max_length=32, required=False)
    head = PersonChoiceField(
        label=_("head (first responsible person)"), queryset=Person.objects.none(), required=False
    )
    office_contact = PersonChoiceField(
        label=_("office contact"), queryset=Person.objects.none(), required=False
    )

    def __init__(
        self, *args: Any, people: Any = None, kinds: list[str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if people is not None:
            self.fields["head"].queryset = people
            self.fields["office_contact"].queryset = people
        if kinds is not None:
            self.fields["kind"].choices = [c for c in UnitKind.choices if c[0] in kinds]


class MoveForm(forms.Form):
    parent_code = forms.CharField(label=_("code of the new parent unit"), max_length=32)


class AreaForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=100)
    kind = forms.ChoiceField(label=_("kind"), choices=AreaKind.choices)
    responsible = PersonChoiceField(
        label=_("responsible person"), queryset=Person.objects.none(), required=False
    )
    description = forms.CharField(label=_("description"), max_length=200, required=False)

    def __init__(self, *args: Any, people: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if people is not None:
            self.fields["responsible"].queryset = people


class PersonForm(forms.Form):
    name = forms.CharField(label=_("full name"), max_length=64)
    mobile = forms.CharField(
        label=_("mobile"), max_length=11, required=False, validators=[mobile_validator]
    )
    email = forms.EmailField(label=_("email"), required=False)


class NewPersonForm(PersonForm):
    role = forms.ChoiceField(label=_("role"), choices=Role.choices, initial=Role.STAFF)
    username = forms.CharField(
        label=_("username"),
        max_length=150,
        required=False,
        help_text=_("Leave empty to use the mobile number."),
    )


class GrantRoleForm(forms.Form):
    person = PersonChoiceField(label=_("person"), queryset=Person.objects.none())
    role = forms.ChoiceField(label=_("role"), choices=Role.choices)

    def __init__(self, *args: Any, people: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if people is not None:
            self.fields["person"].queryset = people


class SeatForm(forms.Form):
    person = PersonChoiceField(label=_("person"), queryset=Person.objects.none())
    position = forms.ChoiceField(label=_("position"), choices=Position.choices)

    def __init__(self, *args: Any, people: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if people is not None:
            self.fields["person"].queryset = people


class AdminRoleForm(forms.Form):
    username = forms.CharField(label=_("username"), max_length=150)
    admin_role = forms.ChoiceField(
        label=_("administrator role"),
        choices=[("", _("none"))] + list(AdminRole.choices),
        required=False,
    )


class PolicyForm(forms.ModelForm):
    class Meta:
        model = SecurityPolicy
        fields = [
            "min_password_length",
            "failure_limit",
            "cooloff_minutes",
            "idle_timeout_minutes",
            "password_max_age_days",
        ]


class SetPasswordForm(forms.Form):
    password = forms.CharField(label=_("new password"), widget=forms.PasswordInput, strip=False)


class ImportForm(forms.Form):
    workbook = forms.FileField(label=_("workbook (.xlsx)"))

    def clean_workbook(self) -> Any:
        upload = self.cleaned_data["workbook"]
        if not upload.name.lower().endswith(".xlsx"):
            raise ValidationError(_("Upload an Excel workbook (.xlsx)."))
        return upload

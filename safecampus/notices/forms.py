"""Input forms for notices. They validate shape; services decide the rest."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from safecampus.notify.models import Urgency
from safecampus.orgs.models import UnitKind

from .models import ATTACHMENT_EXTENSIONS, NoticeKind
from .services import attachment_errors


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; cleans to a list (empty when none was chosen)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        items = data if isinstance(data, list | tuple) else [data]
        return [f for f in (super(MultipleFileField, self).clean(d, initial) for d in items) if f]


RECIPIENT_KINDS = [
    (k, label)
    for k, label in UnitKind.choices
    if k in (UnitKind.GROUP, UnitKind.SCHOOL, UnitKind.KINDERGARTEN, UnitKind.DEPARTMENT)
]


class NoticeForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("send from"), queryset=None, empty_label=None)
    kind = forms.ChoiceField(label=_("kind"), choices=NoticeKind.choices)
    title = forms.CharField(label=_("title"), max_length=200)
    body = forms.CharField(label=_("text"), widget=forms.Textarea(attrs={"rows": 10}))
    recipient_kinds = forms.MultipleChoiceField(
        label=_("send to"),
        choices=RECIPIENT_KINDS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Leave all unticked to send to every unit below yours."),
    )
    urgency = forms.ChoiceField(label=_("urgency"), choices=Urgency.choices)
    requires_ack = forms.BooleanField(label=_("acknowledgement required"), required=False)
    ack_deadline = forms.DateTimeField(
        label=_("acknowledge by"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    attachments = MultipleFileField(
        label=_("attachments"),
        required=False,
        help_text=_("Documents or pictures, up to 10 MB each."),
        widget=MultipleFileInput(attrs={"accept": ",".join(sorted(ATTACHMENT_EXTENSIONS))}),
    )

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units

    def clean_attachments(self) -> list[Any]:
        files = self.cleaned_data["attachments"]
        errors = attachment_errors(files)
        if errors:
            raise forms.ValidationError(errors)
        return files

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.files and self.errors:
            # A browser cannot show chosen files again: say so beside the field.
            self.add_error("attachments", _("Choose the files again before sending."))
        return data


class NoticeTemplateForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=60)
    kind = forms.ChoiceField(label=_("kind"), choices=NoticeKind.choices)
    title = forms.CharField(label=_("title"), max_length=200)
    body = forms.CharField(label=_("text"), widget=forms.Textarea(attrs={"rows": 14}))
    urgency = forms.ChoiceField(label=_("urgency"), choices=Urgency.choices)
    requires_ack = forms.BooleanField(label=_("acknowledgement required"), required=False)

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import CHANNEL_KINDS, Transport

CONFIG_FIELDS = ("url", "key", "access_token", "secret", "keyword")


class ChannelForm(forms.Form):
    """One form for every kind of robot; each kind's Config decides what it needs."""

    kind = forms.ChoiceField(label=_("kind"), choices=[(k.value, k.label) for k in CHANNEL_KINDS])
    name = forms.CharField(label=_("name"), max_length=100)
    url = forms.CharField(
        label=_("address (URL)"),
        max_length=500,
        required=False,
        help_text=_(
            "Webhook and Feishu: the full address. WeCom and DingTalk: leave empty "
            "for the vendor's address."
        ),
    )
    key = forms.CharField(label=_("WeCom robot key"), max_length=100, required=False)
    access_token = forms.CharField(label=_("DingTalk access token"), max_length=200, required=False)
    secret = forms.CharField(label=_("signing secret"), max_length=200, required=False)
    keyword = forms.CharField(label=_("DingTalk keyword"), max_length=50, required=False)
    enabled = forms.BooleanField(label=_("enabled"), required=False, initial=True)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["kind"].disabled = True

    def config(self) -> dict[str, Any]:
        return {
            f: self.cleaned_data[f].strip()
            for f in CONFIG_FIELDS
            if self.cleaned_data.get(f, "").strip()
        }


class PreferenceForm(forms.Form):
    first = forms.ChoiceField(
        label=_("first channel"),
        choices=[
            ("", _("in-app inbox only")),
            (Transport.SMS, Transport.SMS.label),
            (Transport.EMAIL, Transport.EMAIL.label),
        ],
        required=False,
    )
    second = forms.ChoiceField(
        label=_("if that fails"),
        choices=[
            ("", _("nothing more")),
            (Transport.SMS, Transport.SMS.label),
            (Transport.EMAIL, Transport.EMAIL.label),
        ],
        required=False,
    )
    quiet_start = forms.TimeField(
        label=_("quiet hours from"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    quiet_end = forms.TimeField(
        label=_("quiet hours until"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )

    def order(self) -> list[str]:
        return [t for t in (self.cleaned_data["first"], self.cleaned_data["second"]) if t]


class SmsTemplateForm(forms.Form):
    event = forms.CharField(
        label=_("event"),
        max_length=48,
        help_text=_("'*' is used for events without their own template."),
    )
    template_id = forms.CharField(label=_("template id"), max_length=64)
    params = forms.CharField(
        label=_("parameters in order"),
        max_length=200,
        required=False,
        help_text=_("e.g. unit,title"),
    )


class AllowedNetworkForm(forms.Form):
    cidr = forms.CharField(
        label=_("address range"),
        max_length=64,
        help_text=_("e.g. 10.20.0.0/16 for the bureau's intranet"),
    )
    note = forms.CharField(label=_("note"), max_length=200, required=False)


class DeliverySettingsForm(forms.Form):
    give_up_after_hours = forms.IntegerField(
        label=_("Keep retrying a channel that is down for (hours)"),
        min_value=1,
        max_value=24 * 30,
        help_text=_(
            "After the quick retries a message is tried every 30 minutes (and sent on the "
            "person's next channel) until this time has passed; then it shows as failed and "
            "the unit's office is told. Default: 72 hours."
        ),
    )

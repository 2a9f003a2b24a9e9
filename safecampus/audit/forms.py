from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .services import RecordedHead, heads_parse


class VerifyForm(forms.Form):
    """Heads recorded outside the trail, pasted by the audit administrator."""

    heads = forms.CharField(
        label=_("Recorded heads"),
        help_text=_(
            "One a line: the sequence number and the hash, as the daily message "
            "(“Head: 1234 9f2c…”) and a report's receipt (“Receipt no. 1234 · 9f2c61d0a1b2”) "
            "show them. The heads sent to you by the daily message are checked too."
        ),
        required=False,
        max_length=200_000,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )

    def clean_heads(self) -> list[RecordedHead]:
        text: Any = self.cleaned_data.get("heads", "")
        try:
            return heads_parse(text)
        except forms.ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["heads"]) from exc

"""Mobile numbers as a person who may not see them reads them: 138****1234.

One rule for every layer: orgs masks people's numbers for those who may not see them
(orgs.access.can_see_mobile decides who), audit masks every number on its page (the
audit administrator manages nobody), notify masks gateways' error texts.
"""

import re


def mask_mobile(mobile: str | None) -> str:
    """138****1234, as the masking convention asks."""
    if not mobile:
        return ""
    return f"{mobile[:3]}****{mobile[-4:]}" if len(mobile) >= 7 else "****"


# A mainland mobile number inside other text (a username, an email address such as
# 13900006054@139.com), with or without +86 / 0086 / 86 before it.
_MOBILE_IN_TEXT = re.compile(r"(?<!\d)((?:\+?86|0086)?1[3-9]\d)\d{4}(\d{4})(?!\d)")


def mask_mobiles_in(text: str, mobile: str | None = None) -> str:
    """Text with every mobile number in it masked as mask_mobile does: the person's own
    number wherever it stands, and anything shaped like a mobile number."""
    if not text:
        return text
    if mobile:
        text = text.replace(mobile, mask_mobile(mobile))
    return _MOBILE_IN_TEXT.sub(r"\1****\2", text)

"""Types the API's schemas share, stricter than pydantic's lax defaults.

Here in lib, not in safecampus/api (which assembles every app's router, at the top of
the layers), because each app's own api.py uses them.

Pydantic reads a number, or a text of digits, as a date or a time (seconds since 1970):
`?date_to=0` would be 1 January 1970 and answer 200. A date in the API is written
YYYY-MM-DD and nothing else; a date and time is an ISO 8601 text with its time
(YYYY-MM-DDTHH:MM, then seconds and a time zone if wanted), never a number.
"""

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}")


def _day(value: Any) -> Any:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value  # pydantic parses it, and refuses 2026-02-30
    raise PydanticCustomError("date_parsing", "Input should be a date as YYYY-MM-DD")


def _instant(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        return value  # pydantic parses the rest: seconds, fraction, time zone
    raise PydanticCustomError("datetime_parsing", "Input should be an ISO 8601 date and time")


Day = Annotated[dt.date, BeforeValidator(_day)]
"""A date: the text YYYY-MM-DD (in a query, a body) or a date."""

Instant = Annotated[dt.datetime, BeforeValidator(_instant)]
"""A date and time: an ISO 8601 text with at least hours and minutes, or a datetime."""

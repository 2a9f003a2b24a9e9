"""Photos sent from phones: checked by what the bytes are (Pillow decodes them), never by the
file's name or the type the browser claims; refused past a size and a pixel count (a
decompression bomb); turned upright by their EXIF orientation and resized to a phone-size
JPEG, the original kept as sent; the time the camera says it was taken read from EXIF."""

import datetime as dt
import io
import uuid
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

# What phones send. Pillow reads more (TIFF, BMP, ICO, PSD...): they are refused.
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
PHONE_EDGE = 1280  # the longer edge of the copy shown on pages
MAX_PIXELS = 50_000_000  # a 50-megapixel camera; more is a bomb, not a photo
EXIF_DATETIME_ORIGINAL = 0x9003
EXIF_IFD = 0x8769


@dataclass
class Photo:
    phone: bytes  # JPEG, the longer edge at most PHONE_EDGE
    width: int
    height: int
    original: bytes
    original_type: str
    extension: str
    taken_at: dt.datetime | None


def max_bytes() -> int:
    return settings.PHOTO_MAX_MB * 1024 * 1024


def photo_read(file: IO[bytes], *, name: str = "") -> Photo:
    """The photo in `file`, or ValidationError saying why it is refused."""
    label = name or _("The photo")
    data = file.read(max_bytes() + 1)
    if len(data) > max_bytes():
        raise ValidationError(
            _("%(name)s is larger than %(mb)s MB.") % {"name": label, "mb": settings.PHOTO_MAX_MB}
        )
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            if kind not in FORMATS:
                raise UnidentifiedImageError
            if probe.width * probe.height > MAX_PIXELS:
                raise ValidationError(_("%(name)s has too many pixels.") % {"name": label})
            probe.verify()  # a truncated or corrupt file fails here
        with Image.open(io.BytesIO(data)) as image:
            taken_at = _taken_at(image)
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((PHONE_EDGE, PHONE_EDGE))
            if upright.mode not in ("RGB", "L"):
                upright = upright.convert("RGB")
            out = io.BytesIO()
            upright.save(out, "JPEG", quality=82, optimize=True)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(
            _("%(name)s is not a photo (JPEG, PNG, WebP or GIF).") % {"name": label}
        ) from None
    return Photo(
        phone=out.getvalue(),
        width=upright.width,
        height=upright.height,
        original=data,
        original_type=FORMATS[kind],
        extension={"JPEG": "jpg"}.get(kind, kind.lower()),
        taken_at=taken_at,
    )


def _taken_at(image: Image.Image) -> dt.datetime | None:
    """EXIF DateTimeOriginal, a camera's local time without a zone: read as the site's."""
    try:
        raw = image.getexif().get_ifd(EXIF_IFD).get(EXIF_DATETIME_ORIGINAL)
        if not raw:
            return None
        naive = dt.datetime.strptime(  # noqa: DTZ007 - EXIF has no zone: made aware below
            str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S"
        )
    except (ValueError, TypeError, AttributeError, KeyError):
        return None
    return timezone.make_aware(naive)


def photo_store(row: Any, photo: Photo) -> None:
    """Fill a photo row (a model with `image` and `original` file fields, and original_type,
    width, height, taken_at) from a checked photo: its two files written under one name nobody
    can guess. The caller saves the row."""
    name = uuid.uuid4().hex
    row.original_type = photo.original_type
    row.width, row.height, row.taken_at = photo.width, photo.height, photo.taken_at
    row.image.save(f"{name}.jpg", ContentFile(photo.phone), save=False)
    row.original.save(f"{name}-original.{photo.extension}", ContentFile(photo.original), save=False)

"""Photos of a hazard: checked by what the bytes are (an HTML page named .jpg is refused),
size-limited, turned upright and resized for phones with the original kept, the time taken
read from EXIF, and shown only to those who may see the hazard."""

import io

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from PIL import Image

from safecampus.api.tests.test_api import ApiTestCase
from safecampus.hazards import services
from safecampus.hazards.models import Hazard, Photo, PhotoStage
from safecampus.lib import images

from .test_services import HazardCase


def jpeg(width: int = 3000, height: int = 2000, *, taken: str = "", rotate: int = 0) -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    if taken:
        exif.get_ifd(images.EXIF_IFD)[images.EXIF_DATETIME_ORIGINAL] = taken
    if rotate:
        exif[0x0112] = rotate  # Orientation: 6 = turned 90° clockwise
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def upload(data: bytes, name: str = "p.jpg", content_type: str = "image/jpeg"):  # noqa: ANN201
    return SimpleUploadedFile(name, data, content_type=content_type)


class PhotoReadTests(HazardCase):
    def test_resized_for_phones_upright_original_kept_time_taken(self) -> None:
        data = jpeg(taken="2026:11:30 08:15:00", rotate=6)
        photo = images.photo_read(io.BytesIO(data))
        # turned upright by the EXIF orientation: portrait, the long edge 1280
        self.assertEqual((photo.width, photo.height), (853, 1280))
        self.assertEqual(photo.original, data)
        self.assertEqual(photo.original_type, "image/jpeg")
        self.assertEqual(photo.taken_at.strftime("%Y-%m-%d %H:%M %z"), "2026-11-30 08:15 +0800")
        with Image.open(io.BytesIO(photo.phone)) as phone:
            self.assertEqual(phone.format, "JPEG")

    def test_html_named_jpg_and_a_truncated_jpeg_are_refused(self) -> None:
        for data in (b"<html><script>alert(1)</script></html>", jpeg()[:2000], b""):
            with self.assertRaises(ValidationError) as caught:
                images.photo_read(io.BytesIO(data), name="evil.jpg")
            self.assertIn("evil.jpg", caught.exception.messages[0])

    def test_a_format_phones_do_not_send_is_refused(self) -> None:
        out = io.BytesIO()
        Image.new("RGB", (10, 10)).save(out, "TIFF")
        with self.assertRaises(ValidationError):
            images.photo_read(io.BytesIO(out.getvalue()))

    @override_settings(PHOTO_MAX_MB=1)
    def test_too_large_is_refused_with_the_limit(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            images.photo_read(io.BytesIO(b"\xff\xd8" + b"0" * (1024 * 1024 + 10)), name="big.jpg")
        self.assertIn("1 MB", caught.exception.messages[0])


class HazardPhotoTests(HazardCase, ApiTestCase):
    def test_report_with_photos_from_the_form_and_who_sees_them(self) -> None:
        teacher = self.client_for(self.teacher_a)
        response = teacher.post(
            reverse("hazards:new"),
            {
                "unit": self.school_a.pk,
                "category": "fire",
                "description": "疏散通道堆放杂物",
                "severity": "general",
                "photos": [upload(jpeg(800, 600), "a.jpg"), upload(jpeg(640, 480), "b.png")],
            },
        )
        hazard = Hazard.objects.get()
        self.assertRedirects(response, reverse("hazards:detail", args=[hazard.pk]))
        photos = list(hazard.photos.all())
        self.assertEqual([p.stage for p in photos], [PhotoStage.FOUND] * 2)
        page = teacher.get(reverse("hazards:detail", args=[hazard.pk]))
        self.assertContains(page, reverse("hazards:photo", args=[photos[0].pk]))
        shown = teacher.get(reverse("hazards:photo", args=[photos[0].pk]))
        self.assertEqual(shown["Content-Type"], "image/jpeg")
        self.assertEqual(b"".join(shown.streaming_content)[:2], b"\xff\xd8")
        original = teacher.get(reverse("hazards:photo-original", args=[photos[0].pk]))
        self.assertEqual(b"".join(original.streaming_content), jpeg(800, 600))
        # another school's principal, and an anonymous visitor: not found / login
        other = self.client_for(self.duty_b)
        self.assertEqual(other.get(reverse("hazards:photo", args=[photos[0].pk])).status_code, 404)
        self.assertEqual(
            other.get(reverse("hazards:photo-original", args=[photos[1].pk])).status_code, 404
        )
        self.assertEqual(
            self.client.get(reverse("hazards:photo", args=[photos[0].pk])).status_code, 302
        )

    def test_a_photo_that_is_not_an_image_is_refused_and_the_form_kept(self) -> None:
        teacher = self.client_for(self.teacher_a)
        response = teacher.post(
            reverse("hazards:new"),
            {
                "unit": self.school_a.pk,
                "category": "fire",
                "description": "配电箱未上锁",
                "severity": "general",
                "photos": [upload(b"<html>hi</html>", "photo.jpg")],
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("photos", response.context["form"].errors)
        self.assertContains(response, "配电箱未上锁")
        self.assertContains(response, "photo.jpg")
        self.assertFalse(Hazard.objects.exists())
        self.assertFalse(Photo.objects.exists())

    def test_after_photos_with_the_fix_and_through_the_api(self) -> None:
        hazard = self.report()
        teacher = self.client_for(self.teacher_a)
        response = teacher.post(
            reverse("hazards:action", args=[hazard.pk, "submit"]),
            {"note": "已更换灭火器", "photos": [upload(jpeg(500, 500))]},
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(list(hazard.photos.values_list("stage", flat=True)), ["fixed"])
        url = f"/api/v1/hazards/{hazard.pk}/photos"
        principal = self.api(self.principal_a).headers
        ok = self.client.post(
            url, {"photos": [upload(jpeg(300, 200))], "stage": "found"}, headers=principal
        )
        self.assertEqual(ok.status_code, 201, ok.content)
        self.assertEqual(ok.json()[0]["width"], 300)
        bad = self.client.post(
            url, {"photos": [upload(b"GIF89a<html>", "x.gif")]}, headers=principal
        )
        self.assertEqual(bad.status_code, 422)
        self.assertIn("photos", bad.content.decode())
        outsider = self.api(self.duty_b).headers
        response = self.client.post(url, {"photos": [upload(jpeg(30, 20))]}, headers=outsider)
        self.assertEqual(response.status_code, 404)
        detail = self.api(self.principal_a).get(f"/hazards/{hazard.pk}").json()
        self.assertEqual(len(detail["photos"]), 2)

    def test_more_than_six_at_once_is_refused(self) -> None:
        hazard = self.report()
        small = images.photo_read(io.BytesIO(jpeg(50, 50)))
        with self.assertRaises(ValidationError):
            services.hazard_photos_add(
                by=self.teacher_a, hazard=hazard, photos=[small] * 7, stage="found"
            )
        self.assertFalse(Photo.objects.exists())

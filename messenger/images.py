"""Uploaded pictures: checked from their header, decoded upright, metadata dropped.

Avatars and image attachments share these checks; each app turns
:class:`ImageRefused` into its own refusal.
"""

from collections.abc import Collection
from dataclasses import dataclass
from io import BytesIO
from typing import IO

from PIL import Image, ImageOps, UnidentifiedImageError

from messenger.errors import RuleError

# The metadata a camera or editor leaves in a file (EXIF holds the GPS
# position).  The colour profile (icc_profile) stays: it is how the picture looks.
METADATA_KEYS = ("exif", "xmp", "XML:com.adobe.xmp", "comment", "photoshop")


class ImageRefused(RuleError):
    """An upload that is not a picture we accept; ``message`` is for the person."""


@dataclass(frozen=True)
class Picture:
    """A decoded picture the right way up, with what its file said about it."""

    image: Image.Image
    format: str
    width: int
    height: int

    def mode_for_output(self) -> str:
        """Return RGBA if the picture has transparency, else RGB."""
        bands = self.image.getbands()
        return "RGBA" if "A" in bands or "transparency" in self.image.info else "RGB"


def picture_load(
    upload: IO[bytes],
    *,
    formats: Collection[str],
    max_pixels: int,
    draft_box: tuple[int, int] | None = None,
) -> Picture:
    """Return the upload decoded and turned upright by its EXIF orientation.

    The format and pixel count are checked from the header, before any pixel
    is decompressed.  ``draft_box`` lets JPEG decode at a fraction of the size
    when only a small copy is wanted.  Raises :class:`ImageRefused`.
    """
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            if image.format not in formats:
                raise ImageRefused("bad_type", "That image format is not accepted.")
            width, height = image.size
            if width * height > max_pixels:
                raise ImageRefused("too_many_pixels", "That image has too many pixels.")
            if draft_box is not None and image.format == "JPEG":
                image.draft("RGB", draft_box)
            image.load()
            upright = ImageOps.exif_transpose(image) or image
            if upright.size != image.size:  # rotated by its EXIF orientation
                width, height = height, width
            return Picture(upright, str(image.format), width, height)
    except ImageRefused:
        raise
    except Image.DecompressionBombError:
        # Pillow's own, higher limit, also checked from the header.
        raise ImageRefused("too_many_pixels", "That image has too many pixels.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ImageRefused("bad_image", "That file is not an image we can read.") from None


def picture_thumbnail(picture: Picture, *, box: tuple[int, int], square: bool = False) -> bytes:
    """Return a WebP copy that fits in ``box`` (cropped to fill it when ``square``)."""
    image = picture.image.convert(picture.mode_for_output())
    if square:
        image = ImageOps.fit(image, box, Image.Resampling.LANCZOS)
    else:
        image.thumbnail(box, Image.Resampling.LANCZOS)
    out = BytesIO()
    image.save(out, format="WEBP", quality=85 if square else 80)
    return out.getvalue()


def picture_without_metadata(upload: IO[bytes]) -> bytes | None:
    """Return the upload re-saved without EXIF/XMP/comments, or None if it has none.

    Re-encoding is the only way to drop them from every format; the pixels are
    turned upright first, since the orientation tag goes too.  Animated images
    keep every frame.
    """
    upload.seek(0)
    with Image.open(upload) as image:
        if not any(key in image.info for key in METADATA_KEYS):
            return None
        out = BytesIO()
        options: dict[str, object] = {}
        if "icc_profile" in image.info:
            options["icc_profile"] = image.info["icc_profile"]
        if getattr(image, "is_animated", False):
            image.save(out, format=image.format, save_all=True, **options)
            return out.getvalue()
        upright = ImageOps.exif_transpose(image) or image
        if image.format == "JPEG":
            options["quality"] = 92
        elif image.format == "WEBP":
            options |= {"quality": 92, "lossless": image.info.get("lossless", False)}
        upright.save(out, format=image.format, **options)
        return out.getvalue()

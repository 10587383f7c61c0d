"""Decode one image file into a fully loaded RGB or L image, or say why it cannot be used.

Shared by validate (which judges every file) and resize (which decodes the files validate
accepted), so both see exactly the same pixels. Cheap to call per file: no global state is set
per call and nothing is imported lazily.

Plain JPEGs (the bulk of most datasets) are decoded by simplejpeg: the same libjpeg-turbo and
settings as Pillow's decoder, so the same pixels, but without Pillow's Python-level header
parsing, which is most of the cost of a small image (docs/decisions/simplejpeg-decode.md).
Everything else goes through Pillow, which judges truncated and corrupt files. A JPEG Pillow
accepts is still rejected when libjpeg-turbo warns about its data ("Corrupt JPEG data: ..."):
Pillow silences libjpeg's warnings and fills what the data lacks with grey, so a file cut short
that still ends with an end-of-image marker would otherwise pass with grey rows.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import simplejpeg
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from imgflow.common.errors import StageError

PILLOW_MAX_PIXELS = 89_478_485  # Pillow's own default decompression-bomb limit
WHITE = 255

Reason = Literal["empty_file", "not_an_image", "truncated", "corrupt", "too_large"]
DECODE_REASONS: tuple[Reason, ...] = (
    "empty_file",
    "not_an_image",
    "truncated",
    "corrupt",
    "too_large",
)

# `decode` rejects over-limit images itself, by its `max_pixels`; Pillow's warning for the same
# files would only repeat that, once per process, on stderr.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

_JPEG_START = b"\xff\xd8"  # SOI marker
# JPEG colour spaces the fast path takes: simplejpeg's output colour space, Pillow's mode.
# CMYK and YCCK are left to Pillow, which undoes Adobe's inverted CMYK.
_PLAIN_JPEG_SPACES = {"YCbCr": ("RGB", "RGB"), "RGB": ("RGB", "RGB"), "Gray": ("GRAY", "L")}
# Markers of JPEGs that need Pillow: EXIF (it may rotate the image) and multi-picture files.
_PILLOW_JPEG_MARKERS = (b"Exif\x00\x00", b"MPF\x00")

_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}


class ImageRejected(StageError):
    """A file that cannot be used as an image; `reason` is one of DECODE_REASONS."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: Reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Decoded:
    pixels: np.ndarray  # uint8, H x W x 3 (RGB) or H x W (L); upright, no transparency
    format: str  # the real format judged from content (PNG, JPEG, ...), never the file suffix
    source_mode: str  # the mode stored in the file (CMYK, P, I;16, ...)

    @property
    def mode(self) -> str:
        return "RGB" if self.pixels.ndim == 3 else "L"

    @property
    def image(self) -> Image.Image:
        """The pixels as a Pillow image of mode RGB or L (for Pillow's resize and convert)."""
        return Image.fromarray(self.pixels)


def decode_bytes(
    data: bytes, max_pixels: int = PILLOW_MAX_PIXELS, background: int = WHITE
) -> Decoded:
    """Decode a whole file's bytes (validate hashes the same bytes, so each file is read once).

    `background` is the grey level (0..255) transparent pixels are composited onto.
    """
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # With it set Pillow pads a cut-off file with grey and reports success.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set: truncated files would pass")
    if not data:
        raise ImageRejected("empty_file", "zero-byte file")
    plain = decode_plain_jpeg(data, max_pixels)
    if plain is not None:
        return plain
    _allow_pillow(max_pixels)
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageRejected("not_an_image", "content is not a recognised image format") from None
    except Image.DecompressionBombError:
        # Pillow's own limit, reached first by images far over ours: name ours, the one to change.
        raise ImageRejected("too_large", over_limit(header_size(data), max_pixels)) from None
    except Exception as exc:  # a broken header raises anything from SyntaxError to struct.error
        raise ImageRejected("corrupt", f"unreadable header ({type(exc).__name__}: {exc})") from None
    if image.size[0] * image.size[1] > max_pixels:  # from the header: pixels never decoded
        raise ImageRejected("too_large", over_limit(image.size, max_pixels))
    fmt, source_mode = image.format or "", image.mode
    try:
        image.load()  # the full decode: a header-only read misses truncated files
    except (EOFError, OSError) as exc:
        reason: Reason = (
            "truncated" if isinstance(exc, EOFError) or "truncated" in str(exc) else "corrupt"
        )
        raise ImageRejected(reason, f"{type(exc).__name__}: {exc}") from None
    except Exception as exc:
        raise ImageRejected("corrupt", f"{type(exc).__name__}: {exc}") from None
    # Pillow silences libjpeg's warnings and fills missing data with grey: a JPEG cut short
    # that still ends with an end-of-image marker loads without complaint.
    warning = jpeg_warning(data, max_pixels) if data.startswith(_JPEG_START) else None
    if warning is not None:
        cause: Reason = "truncated" if "premature end" in warning.lower() else "corrupt"
        raise ImageRejected(cause, warning)
    try:
        return Decoded(np.asarray(normalise(image, background)), fmt, source_mode)
    except Exception as exc:  # malformed EXIF or an exotic mode Pillow cannot convert
        raise ImageRejected(
            "corrupt", f"cannot convert {source_mode} image ({type(exc).__name__}: {exc})"
        ) from None


def decode_plain_jpeg(data: bytes, max_pixels: int = PILLOW_MAX_PIXELS) -> Decoded | None:
    """A YCbCr, RGB or grey JPEG without EXIF, decoded by libjpeg-turbo straight into numpy;
    None for any file that needs Pillow instead (see the module's note).

    Strict mode turns every libjpeg warning (a cut-off file, corrupt entropy data) into an
    error, and any error hands the file to `decode_bytes`' Pillow path, which rejects it, from
    Pillow's judgement or else from the warning. An image over `max_pixels` is also handed over,
    to be rejected from its header.
    """
    if not data.startswith(_JPEG_START) or any(m in data for m in _PILLOW_JPEG_MARKERS):
        return None
    try:
        height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data)
        spaces = _PLAIN_JPEG_SPACES.get(colorspace)
        if spaces is None or width * height > max_pixels:
            return None
        pixels = simplejpeg.decode_jpeg(data, colorspace=spaces[0], strict=True)
    except Exception:  # simplejpeg raises ValueError, but whatever it is, Pillow judges the file
        return None
    output_space, mode = spaces
    return Decoded(pixels[..., 0] if output_space == "GRAY" else pixels, "JPEG", mode)


def jpeg_warning(data: bytes, max_pixels: int = PILLOW_MAX_PIXELS) -> str | None:
    """libjpeg-turbo's warning about a JPEG it can decode (corrupt or missing scan data), or
    None: when it decodes the file cleanly, or cannot decode it at all (then Pillow judges it).

    A warning is what a strict decode refuses and a lenient one gets through. Both decode at an
    eighth of the size: the entropy data, where the damage lies, is read in full all the same.
    """
    try:
        height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data)
    except Exception:
        return None
    if width * height > max_pixels:  # rejected from Pillow's header read, never decoded
        return None
    # CMYK and YCCK cannot be converted by libjpeg-turbo, but can be decoded as they are.
    target = {"CMYK": "CMYK", "YCCK": "CMYK", "Gray": "GRAY"}.get(colorspace, "RGB")
    small = {"colorspace": target, "min_height": 1, "min_width": 1}
    try:
        simplejpeg.decode_jpeg(data, strict=True, **small)
        return None
    except Exception as exc:
        warning = str(exc)
    try:
        simplejpeg.decode_jpeg(data, strict=False, **small)
    except Exception:
        return None  # an error, not a warning: this decoder cannot read the file at all
    return warning


def over_limit(size: tuple[int, int] | None, max_pixels: int) -> str:
    """Why an image over `max_pixels` is rejected, naming the parameter that sets the limit."""
    limit = f"over validate.max_image_pixels={max_pixels:,}"
    if size is None:
        return f"more pixels than Pillow will open, {limit}"
    width, height = size
    return f"{width}x{height} = {width * height:,} pixels, {limit}"


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header, read by Pillow's format plugins themselves: Image.open
    refuses an image far over Pillow's own limit without saying its size. None if none reads it.
    """
    prefix = data[:16]
    for name in Image.ID:
        factory, accept = Image.OPEN[name]
        try:
            accepted = accept(prefix) if accept else True
            if accepted and not isinstance(accepted, str):  # a str says why it was refused
                return factory(io.BytesIO(data), "").size
        except Exception:
            continue
    return None


def _allow_pillow(max_pixels: int) -> None:
    """Let Pillow open what our limit allows; our own check above enforces the lower limit.

    Never lowered here: a small test limit must not leak into other code in the process. Runs in
    each call, so a process-pool worker gets the configured limit whatever its parent set.
    """
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and max_pixels > limit:
        Image.MAX_IMAGE_PIXELS = max_pixels


def normalise(image: Image.Image, background: int = WHITE) -> Image.Image:
    """A loaded image in mode RGB or L: upright, 8-bit, no transparency."""
    if image.getexif().get(0x0112, 1) != 1:  # EXIF Orientation; cheap when absent
        ImageOps.exif_transpose(image, in_place=True)
    mode = image.mode
    if mode in _SIXTEEN_BIT_MODES:
        return sixteen_to_eight_bit(image)
    if mode == "P" or "transparency" in image.info:
        # Palette or colour-key transparency (tRNS): make it an alpha channel, then composite.
        if "transparency" not in image.info:
            return image.convert("RGB")
        image = image.convert("LA" if mode == "L" else "RGBA")
        mode = image.mode
    if mode in _ALPHA_MODES:
        return flatten_alpha(image, background)
    if mode in ("RGB", "L"):
        return image
    if mode == "1":
        return image.convert("L")
    if mode == "F":  # float images: values outside 0..255 are clipped by Pillow
        return image.convert("L")
    return image.convert("RGB")  # CMYK, YCbCr, LAB, HSV


def flatten_alpha(image: Image.Image, background: int = WHITE) -> Image.Image:
    """Composite onto a flat background: a fully transparent pixel becomes the background
    (white by default), never the black a plain `convert("RGB")` would leave."""
    target = "L" if image.mode in ("LA", "La") else "RGB"
    color = background if target == "L" else (background,) * 3
    base = Image.new(target, image.size, color)
    straight = image.convert("LA" if target == "L" else "RGBA")  # undo premultiplied alpha
    base.paste(straight.convert(target), mask=straight.getchannel("A"))
    return base


def sixteen_to_eight_bit(image: Image.Image) -> Image.Image:
    """16-bit grey (I;16*, or I holding 16-bit data) to L by the full range 0..65535 -> 0..255.

    Pillow's own `convert("L")` clips at 255, turning almost every 16-bit pixel white.
    65535 = 255 * 257, so dividing by 257 with rounding maps the range exactly.
    """
    array = np.asarray(image)
    if array.dtype.kind == "i":  # mode I is 32-bit signed; only 0..65535 is meaningful here
        array = np.clip(array, 0, 65535)
    scaled = (array.astype(np.uint32) + 128) // 257
    return Image.fromarray(scaled.astype(np.uint8))  # 2-D uint8 -> mode L

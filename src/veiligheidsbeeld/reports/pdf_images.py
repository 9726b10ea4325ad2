"""Chart PNGs into the PDF as they are.

A PDF image with the PNG predictor (``/FlateDecode``, ``/Predictor 15``) holds exactly what a
PNG's ``IDAT`` chunks hold: the zlib stream of the filtered rows. WeasyPrint (up to at least 70)
nevertheless decodes every PNG and compresses it again with Pillow, and keeps only the new
``IDAT`` data; for a district report's charts that is about a third of the PDF's time. Upstream
calls the pass-through "a lingering optimization" (Kozea/WeasyPrint#1481); this module is it, for
the PNGs it can prove are safe: 8-bit grey or RGB, not interlaced, no transparency, every chunk's
CRC right and the stream inflating to exactly the image's size. Any other image takes
WeasyPrint's own path. The charts (:func:`veiligheidsbeeld.reports.charts.figure_png`) are such
PNGs, and their rows come out of the PDF byte for byte as WeasyPrint's own path gives them.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Colour type to channels, for the colour types a PDF image takes as they are (grey, RGB).
_CHANNELS = {0: 1, 2: 3}


def png_idat(png: bytes) -> bytes | None:
    """The concatenated ``IDAT`` data of ``png`` if a PDF can use it unchanged, else None.

    None for anything but an 8-bit, non-interlaced grey or RGB PNG without a ``tRNS`` chunk, and
    for a damaged file (a wrong CRC, a cut chunk, a stream that does not inflate to the size its
    header gives)."""
    if not png.startswith(_SIGNATURE):
        return None
    pos, header, data = len(_SIGNATURE), None, []
    while pos + 12 <= len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        kind = png[pos + 4:pos + 8]
        end = pos + 8 + length
        if end + 4 > len(png):
            return None
        body = png[pos + 8:end]
        if zlib.crc32(kind + body) != struct.unpack(">I", png[end:end + 4])[0]:
            return None
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            data.append(body)
        elif kind == b"tRNS":
            return None
        elif kind == b"IEND":
            break
        pos = end + 4
    else:
        return None  # no IEND: a cut file
    if header is None or len(header) != 13 or not data:
        return None
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour not in _CHANNELS or (compression, filtering, interlace) != (0, 0, 0):
        return None
    stream = b"".join(data)
    try:
        rows = zlib.decompress(stream)
    except zlib.error:
        return None
    return stream if len(rows) == height * (1 + width * _CHANNELS[colour]) else None


@contextmanager
def png_passthrough() -> Iterator[None]:
    """While open, WeasyPrint puts eligible PNGs (:func:`png_idat`) into the PDF unchanged.

    It replaces WeasyPrint's ``RasterImage._get_png_data`` (the step that re-encodes) and puts
    it back on leaving. With a WeasyPrint that has no such step nothing is replaced: the PDF is
    the same, only slower."""
    try:
        from weasyprint.images import RasterImage
    except ImportError:  # pragma: no cover - weasyprint is a dependency
        yield
        return
    original: Callable[[Any], bytes] | None = RasterImage.__dict__.get("_get_png_data")
    if not isinstance(original, staticmethod):
        yield
        return
    reencode = original.__func__

    def png_data(pillow_image: Any) -> bytes:
        # Pillow opens lazily: a PNG that was only opened still has its bytes in `fp`.
        source = getattr(pillow_image, "fp", None)
        if getattr(pillow_image, "format", None) == "PNG" and isinstance(source, io.BytesIO):
            data = png_idat(source.getvalue())
            if data is not None:
                return data
        return reencode(pillow_image)

    RasterImage._get_png_data = staticmethod(png_data)
    try:
        yield
    finally:
        RasterImage._get_png_data = original

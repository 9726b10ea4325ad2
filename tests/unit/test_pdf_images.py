"""Chart PNGs go into the PDF unchanged: the same rows as WeasyPrint's own path, other PNGs
take that path, and a damaged PNG is never passed through."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from weasyprint.images import RasterImage

from veiligheidsbeeld.reports import charts, kit
from veiligheidsbeeld.reports.pdf_images import png_idat, png_passthrough


def chart_png() -> bytes:
    fig = charts.new_figure(3.0, 1.6)
    ax = fig.add_subplot()
    ax.plot(range(24), np.sin(np.arange(24) / 3.0) * 10 + 20, marker="o")
    ax.set_title("Woninginbraak per maand")
    return charts.figure_png(fig, dpi=72)


def uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def pillow_png(image: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format="png", **options)
    return out.getvalue()


def gradient(mode: str) -> Image.Image:
    values = np.arange(40 * 30 * 3, dtype=np.uint8).reshape(30, 40, 3)
    return Image.fromarray(values, "RGB").convert(mode)


def weasyprint_rows(png: bytes) -> bytes:
    """The rows WeasyPrint's own path puts into the PDF (decoded, re-encoded, inflated)."""
    return zlib.decompress(RasterImage._get_png_data(Image.open(io.BytesIO(png))))


def with_chunk(png: bytes, kind: bytes, body: bytes) -> bytes:
    """``png`` with chunk ``kind`` replaced by ``body`` (and a correct CRC)."""
    pos = 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        if png[pos + 4:pos + 8] == kind:
            chunk = struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
            return png[:pos] + chunk + png[pos + 12 + length:]
        pos += 12 + length
    raise AssertionError(f"no {kind!r} chunk")


def ihdr(png: bytes) -> bytearray:
    return bytearray(png[16:29])


@pytest.mark.parametrize("png", [chart_png(), pillow_png(gradient("RGB")), pillow_png(gradient("L"))],
                         ids=["chart", "rgb", "grey"])
def test_an_eligible_png_gives_the_same_rows_as_weasyprints_own_path(png):
    data = png_idat(png)
    assert data is not None
    assert zlib.decompress(data) == weasyprint_rows(png)


def test_only_8_bit_grey_or_rgb_without_transparency_passes():
    rgb = gradient("RGB")
    assert png_idat(pillow_png(rgb.convert("RGBA"))) is None  # alpha: WeasyPrint splits it off
    assert png_idat(pillow_png(rgb.convert("P"))) is None  # palette
    assert png_idat(pillow_png(rgb, transparency=(0, 0, 0))) is None  # tRNS
    assert png_idat(pillow_png(Image.fromarray(np.full((5, 7), 300, dtype=np.uint16)))) is None  # 16 bit
    png = pillow_png(rgb)
    interlaced = ihdr(png)
    interlaced[12] = 1
    assert png_idat(with_chunk(png, b"IHDR", bytes(interlaced))) is None


def test_a_damaged_png_is_not_passed_through():
    png = pillow_png(gradient("RGB"))
    assert png_idat(png) is not None
    idat = png.index(b"IDAT") + 10
    flipped = png[:idat] + bytes([png[idat] ^ 0xFF]) + png[idat + 1:]
    assert png_idat(flipped) is None  # CRC no longer matches
    assert png_idat(png[:-20]) is None  # cut off
    assert png_idat(b"GIF89a" + png[6:]) is None
    taller = ihdr(png)
    taller[4:8] = struct.pack(">I", 31)
    assert png_idat(with_chunk(png, b"IHDR", bytes(taller))) is None  # rows do not match the header


def test_the_passthrough_is_only_in_place_while_open():
    before = RasterImage.__dict__["_get_png_data"]
    png = chart_png()
    with png_passthrough():
        assert RasterImage._get_png_data(Image.open(io.BytesIO(png))) == png_idat(png)
        # An image made in memory (no PNG bytes behind it) takes WeasyPrint's path.
        made = Image.open(io.BytesIO(png)).convert("RGB")
        assert zlib.decompress(RasterImage._get_png_data(made)) == weasyprint_rows(png)
    assert RasterImage.__dict__["_get_png_data"] is before


def test_a_pdf_holds_the_chart_png_data_unchanged(tmp_path: Path):
    chart, other = chart_png(), pillow_png(gradient("RGB").convert("RGBA"))
    html = (f'<p>Regelkaart</p><img src="{uri(chart)}">'
            f'<img src="{uri(other)}">')
    pdf = kit.write_pdf(html, tmp_path / "rapport.pdf").read_bytes()
    assert png_idat(chart) in pdf
    assert pdf.count(b"/Subtype /Image") >= 3  # the chart, and the other image with its alpha mask

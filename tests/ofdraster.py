"""A small OFD rasteriser for the tests, independent of the writer: it reads only the OFD
package (XML and the embedded font files) and draws with FreeType (Pillow's ImageFont) and
Pillow's polygon filler, 4× supersampled.

It follows the standard, not our writer: Boundary origins, CTM (§8.3.2), TextCode X/Y and
DeltaX (§11.3), AbbreviatedData M/L/B/Q/C (§9.3.2), LineWidth, FillColor/StrokeColor, Rule.
"""

from __future__ import annotations

import io
import re
import zipfile
import xml.etree.ElementTree as ET

from PIL import Image, ImageChops, ImageDraw, ImageFont

NS = {"ofd": "http://www.ofdspec.org/2016"}
SS = 4  # supersampling


def _floats(text: str | None) -> list[float]:
    return [float(v) for v in (text or "").split()]


def _deltas(text: str | None) -> list[float]:
    """DeltaX, with the ``g n d`` repetition shorthand (§11.3, 表 46)."""
    items = (text or "").split()
    out, i = [], 0
    while i < len(items):
        if items[i] == "g":
            out += [float(items[i + 2])] * int(items[i + 1])
            i += 3
        else:
            out.append(float(items[i]))
            i += 1
    return out


class OfdPackage:
    def __init__(self, data: bytes):
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        root = ET.fromstring(self.zip.read("OFD.xml"))
        doc_root = root.find("ofd:DocBody/ofd:DocRoot", NS).text.strip("/")
        self.doc_dir = doc_root.rsplit("/", 1)[0]
        self.document = ET.fromstring(self.zip.read(doc_root))
        self.fonts: dict[str, bytes] = {}
        for res in self.document.findall("ofd:CommonData/ofd:PublicRes", NS) + \
                self.document.findall("ofd:CommonData/ofd:DocumentRes", NS):
            res_path = f"{self.doc_dir}/{res.text}"
            res_root = ET.fromstring(self.zip.read(res_path))
            base = res_root.get("BaseLoc", "")
            for font in res_root.findall("ofd:Fonts/ofd:Font", NS):
                file = font.find("ofd:FontFile", NS)
                self.fonts[font.get("ID")] = self.zip.read(f"{res_path.rsplit('/', 1)[0]}/{base}/{file.text}")
        self.pages = [f"{self.doc_dir}/{p.get('BaseLoc')}" for p in self.document.findall("ofd:Pages/ofd:Page", NS)]
        self.templates = {t.get("ID"): f"{self.doc_dir}/{t.get('BaseLoc')}"
                          for t in self.document.findall("ofd:CommonData/ofd:TemplatePage", NS)}
        area = self.document.find("ofd:CommonData/ofd:PageArea/ofd:PhysicalBox", NS)
        self.default_box = _floats(area.text)

    def page(self, index: int) -> ET.Element:
        return ET.fromstring(self.zip.read(self.pages[index]))

    def layers(self, index: int) -> list[ET.Element]:
        """The page's layers in drawing order: its templates' (§7.6, ZOrder Background) first."""
        page = self.page(index)
        found = []
        for use in page.findall("ofd:Template", NS):
            template = ET.fromstring(self.zip.read(self.templates[use.get("TemplateID")]))
            found += template.findall("ofd:Content/ofd:Layer", NS)
        return found + page.findall("ofd:Content/ofd:Layer", NS)


def _color(element, default=(0, 0, 0)):
    if element is None:
        return default
    return tuple(int(v) for v in element.get("Value").split())


def _matrix(obj) -> tuple:
    box = _floats(obj.get("Boundary"))
    ctm = _floats(obj.get("CTM")) or [1, 0, 0, 1, 0, 0]
    a, b, c, d, e, f = ctm
    return (a, b, c, d, e + box[0], f + box[1])


def _apply(m, x, y):
    return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]


def _subpaths(data: str) -> list[tuple[list, bool]]:
    tokens = data.split()
    subs, current, i = [], None, 0
    here = (0.0, 0.0)
    while i < len(tokens):
        op = tokens[i]
        if op in ("M", "S"):
            here = (float(tokens[i + 1]), float(tokens[i + 2]))
            current = [here]
            subs.append([current, False])
            i += 3
        elif op == "L":
            here = (float(tokens[i + 1]), float(tokens[i + 2]))
            current.append(here)
            i += 3
        elif op in ("B", "Q"):
            n = 6 if op == "B" else 4
            pts = [float(v) for v in tokens[i + 1:i + 1 + n]]
            ctrl = [here] + [(pts[k], pts[k + 1]) for k in range(0, n, 2)]
            for step in range(1, 17):
                t = step / 16
                current.append(_bezier(ctrl, t))
            here = ctrl[-1]
            i += 1 + n
        elif op == "C":
            subs[-1][1] = True
            i += 1
        else:
            raise ValueError(f"path operator {op}")
    return [(s, closed) for s, closed in subs]


def _bezier(points, t):
    while len(points) > 1:
        points = [((1 - t) * p[0] + t * q[0], (1 - t) * p[1] + t * q[1]) for p, q in zip(points, points[1:])]
    return points[0]


def render_page(package: OfdPackage, index: int, dpi: float = 100) -> Image.Image:
    page = package.page(index)
    box_el = page.find("ofd:Area/ofd:PhysicalBox", NS)
    box = _floats(box_el.text) if box_el is not None else package.default_box
    scale = dpi / 25.4 * SS
    width, height = round(box[2] * dpi / 25.4), round(box[3] * dpi / 25.4)
    image = Image.new("RGB", (width * SS, height * SS), "white")
    draw = ImageDraw.Draw(image)
    fonts: dict = {}
    for layer in package.layers(index):
        for obj in layer:
            tag = obj.tag.split("}")[1]
            m = _matrix(obj)
            if tag == "PathObject":
                _draw_path(image, draw, obj, m, scale)
            elif tag == "TextObject":
                _draw_text(image, draw, obj, m, scale, package, fonts)
    return image.reduce(SS)


def _draw_path(image, draw, obj, m, scale):
    subs = _subpaths(obj.find("ofd:AbbreviatedData", NS).text)
    stroke = obj.get("Stroke", "true") == "true"
    fill = obj.get("Fill", "false") == "true"
    width = float(obj.get("LineWidth", "0.353"))
    det = abs(m[0] * m[3] - m[1] * m[2]) ** 0.5
    if fill:
        color = _color(obj.find("ofd:FillColor", NS), (0, 0, 0))
        polys = [[_px(_apply(m, *p), scale) for p in pts] for pts, _ in subs]
        if obj.get("Rule") == "Even-Odd" and len(polys) > 1:
            mask = Image.new("1", image.size, 0)
            for poly in polys:
                one = Image.new("1", image.size, 0)
                ImageDraw.Draw(one).polygon(poly, fill=1)
                mask = ImageChops.logical_xor(mask, one)
            image.paste(color, mask=mask)
        else:
            for poly in polys:
                draw.polygon(poly, fill=color)
    if stroke:
        color = _color(obj.find("ofd:StrokeColor", NS), (0, 0, 0))
        half = width * det / 2
        for pts, closed in subs:
            points = [_apply(m, *p) for p in pts]
            if closed:
                points.append(points[0])
            for (x0, y0), (x1, y1) in zip(points, points[1:]):
                length = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
                if length == 0:
                    continue
                nx, ny = -(y1 - y0) / length * half, (x1 - x0) / length * half
                quad = [(x0 + nx, y0 + ny), (x1 + nx, y1 + ny), (x1 - nx, y1 - ny), (x0 - nx, y0 - ny)]
                draw.polygon([_px(p, scale) for p in quad], fill=color)


def _px(point, scale):
    return (point[0] * scale, point[1] * scale)


def _draw_text(image, draw, obj, m, scale, package, fonts):
    size = float(obj.get("Size"))
    font_id = obj.get("Font")
    color = _color(obj.find("ofd:FillColor", NS))
    if abs(m[1]) > 1e-9 or abs(m[2]) > 1e-9:
        raise ValueError("rotated or skewed text: not drawn by this rasteriser")
    sx, sy = m[0] * scale, m[3] * scale  # device px per object unit
    px = size * sy
    key = (font_id, round(px * 64))
    if key not in fonts:
        fonts[key] = ImageFont.truetype(io.BytesIO(package.fonts[font_id]), size=px,
                                        layout_engine=ImageFont.Layout.BASIC)
    font = fonts[key]
    stretch = sx / sy
    x = y = 0.0
    for code in obj.findall("ofd:TextCode", NS):
        if code.get("X") is not None:
            x = float(code.get("X"))
        if code.get("Y") is not None:
            y = float(code.get("Y"))
        deltas = _deltas(code.get("DeltaX"))
        for i, char in enumerate(code.text or ""):
            if char.strip():
                gx, gy = _apply(m, x, y)
                if abs(stretch - 1) < 1e-6:
                    draw.text(_px((gx, gy), scale), char, font=font, fill=color, anchor="ls")
                else:  # a horizontally scaled face (the 发文机关标志): draw, then scale the glyph
                    pad = round(px * 2)
                    glyph = Image.new("L", (pad, pad), 0)
                    ImageDraw.Draw(glyph).text((pad / 4, pad * 3 / 4), char, font=font, fill=255, anchor="ls")
                    glyph = glyph.resize((max(1, round(pad * stretch)), pad), Image.BILINEAR)
                    ox, oy = gx * scale - pad / 4 * stretch, gy * scale - pad * 3 / 4
                    image.paste(color, (round(ox), round(oy)), glyph)
            if i < len(deltas):
                x += deltas[i]


def page_count(package: OfdPackage) -> int:
    return len(package.pages)


_ = re  # (kept for callers that parse numbers themselves)

"""Rebuild templates/docx/reference.docx (the Word styles) from templates/layout.yaml.

Run after changing a number in layout.yaml: `.venv/bin/python scripts/make_reference_docx.py`.
Clerks may instead edit the .docx in Word/WPS directly (styles 公文正文, 发文机关标志, …).
"""

import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.layout import TEMPLATES, load_layout  # noqa: E402
from pipeline.output import normalize_zip  # noqa: E402
from pipeline.writers.docx_styles import build_reference  # noqa: E402

doc = build_reference(load_layout())
buffer = io.BytesIO()
doc.save(buffer)
target = TEMPLATES / "docx" / "reference.docx"
target.write_bytes(normalize_zip(buffer.getvalue()))
print(f"wrote {target}")

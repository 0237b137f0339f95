"""Compile pipeline/locale/*/LC_MESSAGES/messages.po into messages.mo (click's messages in Chinese).

Run after editing the .po: `.venv/bin/python scripts/compile_messages.py`. A test checks the
committed .mo matches the .po.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.i18n import CATALOGUE, compiled_catalogue  # noqa: E402

target = CATALOGUE.with_suffix(".mo")
target.write_bytes(compiled_catalogue())
print(f"wrote {target}")

"""Generating the province from the page against `pipeline build` (issue #16 item 4): both cold,
same results (the year's sample), same number of workers. Prints seconds and the ratio."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from pipeline.build import default_workers
    from pipeline.cli import load_for_results
    from pipeline.web import create_app

    workers = default_workers()
    content, sample = load_for_results(None, None, None)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pipeline", "build", "--out", str(tmp / "cli"),
                        "--jobs", str(workers)], cwd=ROOT, check=True, capture_output=True)
        cli = time.perf_counter() - started

        app = create_app(content, tmp / "web")
        site = app.extensions["site"]
        with site.store.connect() as db:
            for region, rated in sample.by_region.items():
                site.store._new_version(db, region, "edit", None, rated)
        site.workers = workers
        started = time.perf_counter()
        site.start_generation()
        site.generation_thread.join()
        web = time.perf_counter() - started
        state = site.generation
        assert not state.failures, state.failures
    print(f"workers {workers}")
    print(f"pipeline build      {cli:7.1f} s")
    print(f"page (generate)     {web:7.1f} s   files {state.rendered}, progress {state.done}/{state.total}")
    print(f"page / build        {web / cli:7.2f}")


if __name__ == "__main__":
    main()

"""Whether a file in the output folder still matches the results: nothing stale is handed out.

A file is current while the manifest's fingerprint for it equals the fingerprint of the view the
current content and results make for that path (``fingerprint.of_view``, as ``build`` records it).
Reports, letters and the 通报 that the current results no longer make at all (a region, or the
province, no longer complete) are withdrawn: removed from the folder and the manifest.
"""

from __future__ import annotations

from .errors import DataError
from .output import OutputDir

WITHDRAWN_KINDS = ("report", "letter", "summary")


def made(jobs, out: OutputDir) -> set[str]:
    """The paths (relative to the output folder) of every file these jobs make; no view is
    touched (a build's jobs stay as ``plan`` will see them)."""
    paths = set()
    for job in jobs:
        for fmt in job.formats(()):
            try:
                paths.add(out.path_for(job.kind, job.name, fmt, job.sub).relative_to(out.root).as_posix())
            except DataError:
                continue
    return paths


def expected(jobs, out: OutputDir) -> dict[str, str]:
    """Path (relative to the output folder) → fingerprint, for every file these jobs make (the
    job's own fingerprint, as ``build`` records it)."""
    paths = {}
    for job in jobs:
        for fmt in job.formats(()):
            try:
                path = out.path_for(job.kind, job.name, fmt, job.sub)
            except DataError:
                continue
            paths[path.relative_to(out.root).as_posix()] = job.fingerprint(fmt)
    return paths


def is_current(entry: dict, wanted: dict[str, str]) -> bool:
    fp = wanted.get(entry.get("path", ""))
    return fp is not None and entry.get("fingerprint") == fp


def withdraw(out: OutputDir, jobs) -> list[str]:
    """Remove the reports, letters and 通报 the manifest lists that these jobs (the whole
    province from the current results) no longer make; drafts (征求意见稿) stay, marked by their
    own fingerprints. Returns the paths removed."""
    making = made(jobs, out)
    removed = []
    for path, entry in out.manifest().items():
        if entry.get("kind") in WITHDRAWN_KINDS and path not in making and "征求意见稿" not in path:
            target = out.root / path
            root = out.root.resolve()
            if root in target.resolve().parents:
                target.unlink(missing_ok=True)
                removed.append(path)
    if removed:
        out.update_manifest([])  # entries whose files are gone are dropped
    return sorted(removed)

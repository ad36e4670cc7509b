"""A JSON Lines export that survives stops: one part per page, moved into place once complete.

Each answered page is written as its own part in a hidden folder beside the target
(``.<name>.parts-<id>/``), then a small ``progress.json`` records the walk's cursor, the rows
and the pages so far. A walk that stops (a quota deferral, a worker crash, a failed try) goes on
from that cursor with the next page; no page is read or written twice. When the last page is in,
the parts are joined into one object in the same folder and moved to the target, so the target
appears only complete (on a local disk the move is an atomic rename), and the folder is removed. A
try that stopped after the last page but before the move leaves a cursor of None: the next try
only joins and moves, with no request.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_toggl.exceptions import TogglError

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

PROGRESS = "progress.json"
_JOINED = "joined.jsonl"


class ExportPartsMissingError(TogglError):
    """An export going on after a stop lacks parts written before it (on another worker's local disk).

    Not final: the parts are removed, so a retry of the task starts the export afresh.
    """


def export_id(*parts: Any) -> str:
    """A short digest naming one export (the same task, run and request give the same id)."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class PagedExport:
    """The parts and progress of one export to ``target``, kept in a hidden folder beside it."""

    def __init__(self, target: ObjectStoragePath, export: str) -> None:
        self.target = target
        self.export = export

    @property
    def folder(self) -> ObjectStoragePath:
        """The hidden folder beside the target that holds this export's parts and progress."""
        return self.target.parent / f".{self.target.name}.parts-{self.export}"

    def saved_progress(self) -> dict[str, Any] | None:
        """The progress an earlier try left (``cursor``, ``rows``, ``pages``), or None when there is none.

        ``cursor`` is None when every page was written and only the move is left.
        """
        place = self.folder / PROGRESS
        if not place.exists():
            return None
        try:
            progress = json.loads(place.read_text())
        except ValueError:
            return None
        if not isinstance(progress, dict) or not isinstance(progress.get("cursor", ""), (dict, type(None))):
            return None
        pages = progress.get("pages")
        return progress if isinstance(pages, int) and not isinstance(pages, bool) and pages >= 1 else None

    def write_page(self, number: int, lines: Iterable[str], progress: Mapping[str, Any]) -> None:
        """Write page ``number``'s lines as one part, then the progress that counts it (as ``pages``)."""
        if self.target.protocol in ("file", "local"):
            self.folder.mkdir(parents=True, exist_ok=True)
        with self._part(number).open("w", encoding="utf-8") as out:
            for line in lines:
                out.write(line + "\n")
        (self.folder / PROGRESS).write_text(json.dumps({**progress, "pages": number}))

    def finish(self, pages: int) -> None:
        """Join parts 1 to ``pages`` into one object, move it to the target, remove the folder."""
        missing = [number for number in range(1, pages + 1) if not self._part(number).exists()]
        if missing:
            raise ExportPartsMissingError(
                f"Toggl export: output_path lacks part {missing[0]} of this export, written elsewhere: a task "
                "that goes on after a deferral may run on another worker, so write exports to shared storage "
                "(s3://...)"
            )
        joined = self.folder / _JOINED
        with joined.open("wb") as out:
            for number in range(1, pages + 1):
                with self._part(number).open("rb") as part:
                    shutil.copyfileobj(part, out)
        joined.rename(self.target)
        self.discard()

    def discard(self) -> None:
        """Remove the parts and the progress (nothing happens when there are none)."""
        if self.folder.exists():
            self.folder.rmdir(recursive=True)

    def _part(self, number: int) -> ObjectStoragePath:
        return self.folder / f"{number:06d}.jsonl"

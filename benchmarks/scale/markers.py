"""Sections of docs/benchmarks.md that other runs write live between two markers each (the scale
benchmark's, the placement benchmark's); `make bench` rewrites the rest of the file and keeps them."""

from __future__ import annotations

import dataclasses
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Markers:
    name: str
    writer: str

    @property
    def begin(self) -> str:
        return f"<!-- {self.name}:begin ({self.writer}) -->"

    @property
    def end(self) -> str:
        return f"<!-- {self.name}:end -->"

    def section_of(self, text: str) -> str | None:
        if self.begin in text and self.end in text.split(self.begin, 1)[1]:
            return self.begin + text.split(self.begin, 1)[1].split(self.end, 1)[0] + self.end
        return None

    def put(self, path: Path, body: str) -> None:
        """Replace the marked section of `path` with `body` (appended when the file has none)."""
        text = path.read_text() if path.exists() else ""
        section = f"{self.begin}\n{body.strip()}\n{self.end}"
        old = self.section_of(text)
        text = (text.replace(old, section) if old is not None
                else text.rstrip("\n") + ("\n\n" if text else "") + section + "\n")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


SCALE = Markers("bench-scale", "make bench-scale writes this section")
PLACEMENT = Markers("bench-placement", "python -m benchmarks.placement (in make bench) writes this section")
#: Every section a whole regeneration of the file keeps.
KEPT = (SCALE, PLACEMENT)
BEGIN, END = SCALE.begin, SCALE.end


def section_of(text: str) -> str | None:
    return SCALE.section_of(text)


def put_section(path: Path, body: str) -> None:
    SCALE.put(path, body)


def keep_section(path: Path, new_text: str) -> str:
    """`new_text` (a whole regenerated file) with the marked sections that `path` holds now."""
    if not path.exists():
        return new_text
    old_text = path.read_text()
    for markers in KEPT:
        old = markers.section_of(old_text)
        if old is not None and markers.section_of(new_text) is None:
            new_text = new_text.rstrip("\n") + "\n\n" + old + "\n"
    return new_text

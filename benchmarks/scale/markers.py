"""The scale benchmark's section of docs/benchmarks.md lives between two markers; `make bench`
rewrites the rest of the file and keeps that section."""

from __future__ import annotations

from pathlib import Path

BEGIN = "<!-- bench-scale:begin (make bench-scale writes this section) -->"
END = "<!-- bench-scale:end -->"


def section_of(text: str) -> str | None:
    if BEGIN in text and END in text.split(BEGIN, 1)[1]:
        return BEGIN + text.split(BEGIN, 1)[1].split(END, 1)[0] + END
    return None


def put_section(path: Path, body: str) -> None:
    """Replace the marked section of `path` with `body` (appended when the file has none)."""
    text = path.read_text() if path.exists() else ""
    section = f"{BEGIN}\n{body.strip()}\n{END}"
    old = section_of(text)
    text = text.replace(old, section) if old is not None else text.rstrip("\n") + ("\n\n" if text else "") + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def keep_section(path: Path, new_text: str) -> str:
    """`new_text` (a whole regenerated file) with the scale section that `path` holds now."""
    old = section_of(path.read_text()) if path.exists() else None
    if old is None:
        return new_text
    return new_text.rstrip("\n") + "\n\n" + old + "\n"

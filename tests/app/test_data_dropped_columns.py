"""Data page: the note on columns the loader dropped (lib.table.read.dropped_columns)."""

from __future__ import annotations

PAGE = "pages/1_Data.py"


def test_trailing_delimiter_column_is_named_in_a_note(open_page):
    scores = [2, 3, 5, 3, 4, 6, 1, 2, 2]
    rows = zip("aaabbbccc", [1, 2, 3] * 3, scores, strict=True)
    lines = ["class_id,age,score,"] + [f"{g},{a},{s}," for g, a, s in rows]
    at = open_page(PAGE)
    at.file_uploader(key="_upload_widget").upload("trailing.csv", "\n".join(lines).encode())
    at.run()
    assert not at.exception
    notes = [i.value for i in at.info if "left out" in i.value]
    assert len(notes) == 1
    assert notes[0].startswith("Column 4 of the file was left out: no name and no values")
    assert "every line ends with" in notes[0]

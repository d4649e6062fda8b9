"""User text (column names, group labels, file names) made literal inside Markdown.

Every name a user typed or uploaded passes through ``md`` before it joins a Markdown
sentence, so that ``**bold**``, ``[link](javascript:...)``, ``<img ...>`` or a line
break in a column name shows as the characters it is. ``code`` quotes a formula piece.
"""

from __future__ import annotations

import re

# ":" too: Streamlit turns ":name:" into an emoji (class:school: showed a school icon).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$&:])")
# CommonMark ends a line at LF, CR or CR LF: any of them would start a new block.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def md(text: object) -> str:
    """Escape Markdown (and HTML-ish) characters so user text shows literally, on one line."""
    return _LINE_BREAK.sub(" ", _MD_SPECIAL.sub(r"\\\1", str(text)))


def code(text: object) -> str:
    """Inline code for a formula piece (backticks inside become quotes)."""
    return "`" + str(text).replace("`", "'") + "`"

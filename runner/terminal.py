"""Server text made safe to print: no control character acts, no line of it is its own.

A body, a header, a reason phrase or an OAuth ``error_description`` may hold escape
sequences (clear the screen, print a fake "all passed") or newlines followed by CI
workflow commands (``::error …``, ``::add-mask::``, ``##vso[…]``). apirun shows such text
with its control characters as visible escapes, and never lets it start a line.
"""

from __future__ import annotations

import re

_OTHER_CONTROLS = r"\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
"""C0 and C1 controls but tab and newline, DEL, Unicode line separators, bidi overrides."""
_CONTROL = re.compile(f"[\n{_OTHER_CONTROLS}]")
_CONTROL_BUT_NEWLINE = re.compile(f"[{_OTHER_CONTROLS}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\x1b": "\\x1b"}
_COMMAND = re.compile(r"^\s*(::|##\[|##vso\[)")
"""How a line that a CI system reads as a workflow command starts (GitHub, Azure)."""


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """One line: every control character, newlines included, as a visible escape."""
    return _CONTROL.sub(_escape, text) if _CONTROL.search(text) else text


def visible_lines(text: str) -> list[str]:
    """Lines of a body, each with its other control characters made visible."""
    return [visible(line) for line in text.replace("\r\n", "\n").split("\n")]


def guard(text: str) -> str:
    """The last check before printing a block apirun composed: control characters other
    than newlines are made visible, and a line that would read as a workflow command is
    shown behind ``| `` (apirun's own annotations are printed apart from this)."""
    if _CONTROL_BUT_NEWLINE.search(text):
        text = _CONTROL_BUT_NEWLINE.sub(_escape, text)
    if "::" not in text and "##" not in text:
        return text
    return "\n".join("| " + line if _COMMAND.match(line) else line for line in text.split("\n"))

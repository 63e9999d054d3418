"""JSON with comments (devcontainer.json's dialect): comments removed, then plain JSON."""

from __future__ import annotations

import json


def strip_comments(text: str) -> str:
    out: list[str] = []
    index, length = 0, len(text)
    in_string = False
    while index < length:
        char = text[index]
        if in_string:
            out.append(char)
            if char == "\\" and index + 1 < length:
                out.append(text[index + 1])
                index += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif text.startswith("//", index):
            end = text.find("\n", index)
            index = length if end == -1 else end
            continue
        elif text.startswith("/*", index):
            end = text.find("*/", index + 2)
            if end == -1:
                raise ValueError("unterminated /* comment")
            index = end + 2
            continue
        else:
            out.append(char)
        index += 1
    return "".join(out)


def loads(text: str):
    return json.loads(strip_comments(text))

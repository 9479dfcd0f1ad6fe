"""What a conflict shows on the promotion page, and whether it can be resolved there.

A conflicted path is offered for editing in the browser only when the text of every side is
complete (at most `MAX_SHOWN_BYTES`), valid UTF-8, and has line endings a textarea gives back
unchanged (all LF, or all CRLF). Anything else (a cut file, Latin-1, invalid UTF-8, a binary
file, mixed line endings) is shown for reading only, and can be resolved by taking one side
whole: that writes the side's blob as it is, byte for byte, so nothing the page did not show
is changed.

A resolution is either the resolved text of the path, or `{"take": "ours"|"theirs",
"blob": <hex blob id, "" when that side deleted the path>}`: the blob is the one the conflict
showed, and the merge refuses it if that side holds another blob by then.
"""

from __future__ import annotations

from typing import Any

from branching.git.textmerge import is_binary

MAX_SHOWN_BYTES = 200_000
BINARY = "(binary file)"  # what a conflict shows of a binary side
CUT = "\n… (cut)"
SIDES = ("base", "ours", "theirs", "result")
TAKE_SIDES = ("ours", "theirs")

Resolution = str | dict[str, str]


def shown_text(data: bytes) -> tuple[str, str]:
    """(what the page shows of a blob, why it cannot be edited there, or "")."""
    if is_binary(data):
        return BINARY, "it is a binary file"
    cut = len(data) > MAX_SHOWN_BYTES
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        shown = data[:MAX_SHOWN_BYTES].decode("utf-8", "replace")
        return shown + (CUT if cut else ""), "it is not valid UTF-8 text"
    if cut:
        kb = MAX_SHOWN_BYTES // 1000
        return data[:MAX_SHOWN_BYTES].decode("utf-8", "replace") + CUT, f"it is over {kb} KB"
    return text, ""


def line_endings(texts: list[str]) -> str | None:
    """ "\\r\\n" or "\\n" when every text uses only that line ending, else None."""
    crlf = any("\r\n" in t for t in texts)
    for text in texts:
        if crlf and text.replace("\r\n", "").count("\n"):
            return None
        if text.replace("\r\n", "").count("\r"):
            return None
    return "\r\n" if crlf else "\n"


def describe(path: str, kinds: list[str], blobs: dict[str, tuple[int, bytes] | None], read: Any):
    """The conflict record of one path: each side's text as shown, whether it can be edited
    in the browser (and why not), and each side's blob for the take-one-side choices.

    `blobs` maps base/ours/theirs/result to (mode, hex id) or None; `read(hex)` gives bytes.
    """
    record: dict[str, Any] = {"path": path, "kinds": kinds}
    why = ""
    texts = []
    for side in SIDES:
        stage = blobs.get(side)
        if stage is None:
            record[side] = None
            continue
        text, problem = shown_text(read(stage[1]))
        record[side] = text
        why = why or problem
        if not problem:
            texts.append(text)
    eol = line_endings(texts) if not why else None
    if not why and eol is None:
        why = "its line endings are mixed, and a browser would change them"
    record["editable"] = not why
    record["why"] = why
    record["eol"] = eol or ""
    record["blobs"] = {
        side: (blobs[side][1].decode("ascii") if blobs.get(side) else "")  # type: ignore[index]
        for side in TAKE_SIDES
    }
    return record


def is_editable(conflict: dict[str, Any]) -> bool:
    """Whether the page may offer the path's text for editing.

    Records written before this rule carry no "editable": they count as editable only when no
    side is binary or cut and none had bytes replaced in decoding.
    """
    if "editable" in conflict:
        return bool(conflict["editable"])
    sides = [conflict.get(side) for side in SIDES]
    return not any(
        s is not None and (s == BINARY or s.endswith(CUT) or "\ufffd" in s) for s in sides
    )


def why_not_editable(conflict: dict[str, Any]) -> str:
    if is_editable(conflict):
        return ""
    return conflict.get("why") or "it was not shown complete"


def take_choices(conflict: dict[str, Any]) -> list[str]:
    """The sides that may be taken whole: those whose blob the record names (or that deleted
    the path)."""
    blobs = conflict.get("blobs")
    if not isinstance(blobs, dict):
        return []
    return [side for side in TAKE_SIDES if side in blobs]


def take(conflict: dict[str, Any], side: str) -> dict[str, str]:
    return {"take": side, "blob": str(conflict["blobs"][side])}


def is_take(resolution: Resolution) -> bool:
    return isinstance(resolution, dict)


def describe_resolution(resolution: Resolution, target_name: str) -> str:
    """A take-one-side resolution in words (for the approver and the log)."""
    assert isinstance(resolution, dict)
    who = f"ours ({target_name})" if resolution["take"] == "ours" else "theirs (the feature)"
    blob = resolution.get("blob") or ""
    what = f"blob {blob[:10]}" if blob else "the path deleted"
    return f"Takes {who} whole, byte for byte: {what}."

"""git's rules for branch names (`git check-ref-format --branch`), with a reason for each refusal.

The reasons are what a user sees under the form field, so they say what is wrong in plain words.
"""

from django.core.exceptions import ValidationError

_FORBIDDEN_CHARS = {
    " ": "a space",
    "~": "'~'",
    "^": "'^'",
    ":": "':'",
    "?": "'?'",
    "*": "'*'",
    "[": "'['",
    "\\": "a backslash",
}


def branch_name_problem(name: str) -> str | None:
    """Why `name` is not a valid git branch name, or None when it is."""
    if not name:
        return "A branch name cannot be empty."
    if name.startswith("-"):
        return "A branch name cannot start with '-'."
    if name == "@":
        return "A branch name cannot be the single character '@'."
    if name.startswith("refs/"):
        return "Give the branch name without 'refs/' (for example 'main', not 'refs/heads/main')."
    for char in name:
        if ord(char) < 0x20 or ord(char) == 0x7F:
            return "A branch name cannot contain control characters (such as a newline or tab)."
        if char in _FORBIDDEN_CHARS:
            return f"A branch name cannot contain {_FORBIDDEN_CHARS[char]}."
    if ".." in name:
        return "A branch name cannot contain '..'."
    if "@{" in name:
        return "A branch name cannot contain '@{'."
    if name.startswith("/") or name.endswith("/"):
        return "A branch name cannot start or end with '/'."
    if "//" in name:
        return "A branch name cannot contain '//' (an empty path component)."
    if name.endswith("."):
        return "A branch name cannot end with '.'."
    for component in name.split("/"):
        if component.startswith("."):
            return f"No part of a branch name can start with '.' ('{component}')."
        if component.endswith(".lock"):
            return f"No part of a branch name can end with '.lock' ('{component}')."
    if len(name.encode()) > 255:
        return "A branch name cannot be longer than 255 bytes."
    return None


def validate_branch_name(name: str) -> None:
    """Django validator form of `branch_name_problem`."""
    problem = branch_name_problem(name)
    if problem:
        raise ValidationError(problem, code="invalid_branch")

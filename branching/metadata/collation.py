"""Sort names the way the reference tools do (ICU collation), not by code point.

sfdx-git-delta sorts package.xml members with `Intl.Collator('fr')` and SDR sorts the children
of a recomposed object with `String.prototype.localeCompare`; both are ICU's root collation
for the identifiers Salesforce allows. Sorting by code point would put `Zip__c` before
`address__c` and `Account_Name__c` after `AccountId`, and the files would no longer compare
byte for byte with `sf project convert source`.

`collation_key` reproduces the three levels that matter for metadata names: letters compare
case-insensitively first (primary), then accents (secondary, approximated by code point of
the base-stripped character), then lowercase before uppercase (tertiary). Punctuation and
symbols sort before digits, digits before letters, in ICU's root order.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache

# ICU root collation: variable characters and symbols in their primary order, then digits.
_PUNCTUATION = "\t\n\x0b\x0c\r _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$"
_PRIMARY: dict[str, int] = {char: index for index, char in enumerate(_PUNCTUATION)}
_DIGITS_BASE = len(_PUNCTUATION)
_LETTERS_BASE = _DIGITS_BASE + 10
_OTHER_BASE = _LETTERS_BASE + 26


def _weights(char: str) -> tuple[int, int, int]:
    if char in _PRIMARY:
        return _PRIMARY[char], 0, 0
    if "0" <= char <= "9":
        return _DIGITS_BASE + ord(char) - 48, 0, 0
    base = unicodedata.normalize("NFD", char)[0]
    lower = base.lower()
    if "a" <= lower <= "z":
        accent = 0 if base == char else ord(char)
        return _LETTERS_BASE + ord(lower) - 97, accent, 1 if base != lower else 0
    return _OTHER_BASE + ord(char), 0, 0


@lru_cache(maxsize=65536)
def collation_key(value: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """A sort key: `sorted(names, key=collation_key)` orders like ICU's root collator."""
    weights = [_weights(char) for char in value]
    return (
        tuple(w[0] for w in weights),
        tuple(w[1] for w in weights),
        tuple(w[2] for w in weights),
    )


def collated(values: Iterable[str]) -> list[str]:
    """`values` sorted like `Intl.Collator().compare`."""
    return sorted(values, key=collation_key)

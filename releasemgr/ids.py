"""Object ids that come from users: only numbers the database can compare with.

An id field is a signed 64-bit integer in SQLite and PostgreSQL alike. Django answers a `pk=`
lookup with a bigger number by matching nothing, but it hands the number on to the database
for a foreign key's `=` and for any `__in`, and the database then raises (SQLite an
OverflowError, PostgreSQL "out of range"): a 500 for a mistyped query string. So ids that
users type are checked here first, where they enter: a URL's path (`<id:pk>`), a query
parameter a view reads, an API filter, a form's choice of several objects.
"""

from __future__ import annotations

from typing import Annotated, Any

from django import forms
from django.core.exceptions import ValidationError
from django.urls import register_converter
from pydantic import Field

__all__ = ["MAX_ID", "Id", "IdConverter", "ModelMultipleChoiceField", "parse_id"]

MAX_ID = 2**63 - 1

# An API parameter or field naming an object by its id.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def parse_id(value: object) -> int | None:
    """The id that `value` spells (ASCII digits, from 1 to MAX_ID), else None.

    `str.isdigit` alone is not enough: it is true of "²" and of other scripts' digits, which
    `int` refuses or reads as a number nobody typed."""
    text = str(value)
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


class IdConverter:
    """`<id:pk>` in a URL pattern: 1 to 19 ASCII digits naming an id the database can hold.
    A bigger number does not match, so the page is a 404 (Django's `<int:>` passes any
    number of digits on to the view)."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValueError(f"{value} is not an id")  # Django: this URL does not match
        return number

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")


class ModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Django's field, with an id beyond the database's range refused as any unknown choice
    is (Django's own check sends it to the database in an `__in`)."""

    def _check_values(self, value: Any) -> Any:
        if not self.to_field_name:
            for choice in value if isinstance(value, list | tuple | set | frozenset) else ():
                text = str(choice)
                if text.isascii() and text.isdigit() and int(text) > MAX_ID:
                    raise ValidationError(
                        self.error_messages["invalid_choice"],
                        code="invalid_choice",
                        params={"value": text},
                    )
        return super()._check_values(value)  # type: ignore[misc]

"""Admin pages that answer bad input with a form error or Django's "?e=1" page, never a 500.

Django's admin (5.2) sends three kinds of typed value on to the database or to `datetime`
before it has checked them:

- a form redrawn with its errors looks up the object an autocomplete field names again,
  whatever was typed ("²" raises ValueError);
- the ids of a many-to-many choice go into an `__in` query before they are validated (a
  number beyond 64 bits raises OverflowError, see `releasemgr.ids`);
- a date hierarchy's year, month and day make a `datetime` before they are checked (a year of
  twenty digits raises OverflowError).

`GuardedInputAdmin` closes all three; every ModelAdmin of the project derives from it, and so
do the user and group admins (registered again in releasemgr/admin.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import (
    AutocompleteMixin,
    AutocompleteSelect,
    AutocompleteSelectMultiple,
)
from django.core.exceptions import ValidationError
from django.db.models import Field
from django.http import HttpRequest

from releasemgr.ids import MAX_ID, ModelMultipleChoiceField

__all__ = ["GuardedInputAdmin"]


def _usable(field: Field[Any, Any], value: object) -> bool:
    """Whether the database can compare `field` with `value` (else it names no object)."""
    try:
        python = field.to_python(value)
    except ValidationError:
        return False
    return not isinstance(python, int) or -MAX_ID - 1 <= python <= MAX_ID


class _RedrawsOnlyUsableChoices(AutocompleteMixin):
    """An autocomplete widget that looks up only the values its field could hold."""

    def optgroups(self, name: str, value: Sequence[str], attr: Any = None) -> Any:
        target = self.field.target_field
        usable = [v for v in value if v in ("", None) or _usable(target, v)]
        return super().optgroups(name, usable, attr)


class _Select(_RedrawsOnlyUsableChoices, AutocompleteSelect):
    pass


class _SelectMultiple(_RedrawsOnlyUsableChoices, AutocompleteSelectMultiple):
    pass


class _ChangeList(ChangeList):
    def get_filters(self, request: HttpRequest) -> Any:
        try:
            return super().get_filters(request)
        except OverflowError as exc:  # Django turns the ValueError of a bad date, not this
            raise IncorrectLookupParameters(exc) from exc


class GuardedInputAdmin(admin.ModelAdmin):
    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return _ChangeList

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = _Select(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(
        self, db_field: Any, request: HttpRequest | None = None, **kwargs: Any
    ) -> Any:
        autocomplete = request is not None and db_field.name in self.get_autocomplete_fields(
            request
        )
        if "widget" not in kwargs and autocomplete:
            kwargs["widget"] = _SelectMultiple(db_field, self.admin_site, using=kwargs.get("using"))
        kwargs.setdefault("form_class", ModelMultipleChoiceField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[arg-type]

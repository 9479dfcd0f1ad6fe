"""What every resource module shares: paging, references to other objects, the caller."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from django.core.paginator import EmptyPage, Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest, QueryDict
from ninja import Field, Schema

from instances.api.problems import Problem

T = TypeVar("T")
M = TypeVar("M", bound=Model)

PAGE_SIZE = 50  # as the pages
MAX_PAGE_SIZE = 200


class Paging(Schema):
    page: int = Field(1, ge=1, description="Which page, from 1.")
    page_size: int = Field(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Items per page.")


class Page(Schema, Generic[T]):
    count: int = Field(description="Items in every page together.")
    page: int
    pages: int
    next: str | None = Field(description="The next page's URL, or null on the last.")
    previous: str | None
    results: list[T]


def paginate(
    request: HttpRequest,
    queryset: QuerySet[M],
    paging: Paging,
    serialize: Callable[[list[M]], Iterable[Any]],
) -> dict[str, Any]:
    """One page of `queryset`, each object serialized; a page past the end is a 404."""
    paginator = Paginator(queryset, paging.page_size)
    try:
        page = paginator.page(paging.page)
    except EmptyPage:
        raise Problem(
            404, f"There is no page {paging.page}: there are {paginator.num_pages}."
        ) from None

    def link(number: int) -> str:
        query = request.GET.copy()
        query["page"] = str(number)
        return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")

    return {
        "count": paginator.count,
        "page": page.number,
        "pages": paginator.num_pages,
        "next": link(page.number + 1) if page.has_next() else None,
        "previous": link(page.number - 1) if page.has_previous() else None,
        "results": list(serialize(list(page.object_list))),
    }


def absolute(request: HttpRequest, path: str) -> str:
    return request.build_absolute_uri(path)


class UserRef(Schema):
    username: str


class InstanceRef(Schema):
    id: int
    name: str


class RepositoryRef(Schema):
    id: int
    name: str


def user_ref(user: Any) -> dict[str, str] | None:
    return {"username": user.get_username()} if user is not None else None


def instance_ref(instance: Any) -> dict[str, Any] | None:
    return {"id": instance.pk, "name": instance.name} if instance is not None else None


def repository_ref(repository: Any) -> dict[str, Any]:
    return {"id": repository.pk, "name": repository.name}


def form_data(values: dict[str, Any]) -> QueryDict:
    """JSON values as a form's data (lists stay lists), to validate with the pages' forms."""
    query = QueryDict(mutable=True)
    for name, value in values.items():
        if value is None or value is False:
            continue
        if isinstance(value, list | tuple):
            query.setlist(name, [str(v) for v in value])
        else:
            query[name] = "on" if value is True else str(value)
    return query

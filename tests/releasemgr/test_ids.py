"""Ids typed by users never reach the database unchecked: a page, a form error or a 4xx,
never a 500 (see releasemgr/ids.py and releasemgr/admin_input.py).

Django lets a number beyond 64 bits through to the database for a foreign key's `=` and any
`__in`, looks up a mistyped autocomplete choice again to redraw the form, and makes a date of
a date hierarchy's year before it checks it; each of those raised here before.
"""

import re

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import get_resolver, reverse

from branching.models import Collection, Feature
from instances.models import Instance
from releasemgr.admin_input import GuardedInputAdmin
from releasemgr.ids import MAX_ID, IdConverter, ModelMultipleChoiceField, parse_id
from tests.releasemgr.test_every_view import _patterns, protected_urls

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"
BAD = [HUGE, str(MAX_ID + 1), "²", "١٢", "-1", "0", "1e3", " 1", ""]
INPUT = re.compile(r'<(?:input|select|textarea)[^>]*name="([^"]+)"')


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", 1),
        ("0042", 42),
        (7, 7),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        (HUGE, None),
        ("0", None),
        ("-1", None),
        ("²", None),  # str.isdigit() is true of it, int() refuses it
        ("١٢", None),  # Arabic-Indic digits: int() reads 12, nobody typed that
        ("1e3", None),
        (" 1", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_id(value, expected):
    assert parse_id(value) == expected


def test_the_converter_matches_ids_the_database_can_hold():
    converter = IdConverter()
    assert re.fullmatch(converter.regex, str(MAX_ID))
    assert not re.fullmatch(converter.regex, HUGE)
    assert converter.to_python(str(MAX_ID)) == MAX_ID
    for value in (str(MAX_ID + 1), "0"):
        with pytest.raises(ValueError):
            converter.to_python(value)


def test_every_id_in_a_url_is_an_id_converter():
    routes = [route for route, _ in _patterns(get_resolver()) if not route.startswith("admin/")]
    assert any("<id:" in route for route in routes)
    assert not [route for route in routes if "<int:" in route]


@pytest.mark.parametrize("number", [HUGE, str(MAX_ID + 1), "0"])
def test_a_path_id_beyond_the_database_is_a_404(client_for, pipeline, number):
    client = client_for("admin")
    for url in (f"/instances/{number}/", f"/promotions/{number}/", f"/deployments/{number}/"):
        assert client.get(url).status_code == 404, url
    # The one view without a login (its signature is checked): a webhook for no repository.
    for provider in ("github", "gitlab"):
        answer = client_for("anonymous").post(
            f"/hooks/{provider}/{number}/", b"{}", content_type="application/json"
        )
        assert answer.status_code == 404


def test_the_choice_field_refuses_an_id_beyond_the_database_as_an_unknown_choice(pipeline):
    field = ModelMultipleChoiceField(queryset=Instance.objects.all())
    assert list(field.clean([str(pipeline["qa"].pk)])) == [pipeline["qa"]]
    for value in (HUGE, str(MAX_ID + 1)):
        with pytest.raises(ValidationError) as refused:
            field.clean([str(pipeline["qa"].pk), value])
        assert refused.value.code == "invalid_choice"
        assert value in str(refused.value)


def test_a_collection_with_a_huge_feature_id_is_a_form_error_and_saves_nothing(
    client_for, pipeline
):
    response = client_for("release_manager").post(
        reverse("collection_create"), {"name": "Spring", "features": [HUGE]}
    )
    assert response.status_code == 200
    assert f"Select a valid choice. {HUGE} is not one of the available choices." in (
        response.content.decode()
    )
    assert not Collection.objects.exists()


@pytest.mark.parametrize("value", BAD)
def test_pages_that_read_an_id_from_the_query_string_refuse_or_ignore_a_bad_one(
    client_for, pipeline, value
):
    client = client_for("admin")
    # Prefilled forms ignore what names no object ...
    for name, param in (("instance_create", "parent"), ("feature_create", "instance")):
        response = client.get(reverse(name), {param: value})
        assert response.status_code == 200, (name, value)
        assert response.context["form"].initial.get(param) is None
    # ... and the request form says which id it did not find.
    for param in ("target", "collection"):
        response = client.get(reverse("promotion_create"), {param: value})
        assert response.status_code in (200, 404), (param, value)
        if response.status_code == 404 and value:
            assert f"No object with id {value}." in response.content.decode()


@pytest.mark.parametrize("url", protected_urls())
def test_no_page_fails_on_bad_ids_in_its_query_string(client_for, pipeline, url):
    """Every protected URL, with each parameter any view reads set to a bad id."""
    if url.startswith("/accounts/logout"):
        return
    client = client_for("admin")
    params = ["page", "parent", "instance", "target", "collection", "repository", "feature"]
    params += ["promotion", "status", "days", "wait", "q", "since"]
    for value in (HUGE, "²"):
        response = client.get(url, dict.fromkeys(params, value))
        assert response.status_code < 500, (url, value)


def test_every_admin_of_the_project_guards_its_input():
    """The project's admins and the user and group admins (django-q's have no field that
    lets a typed id through: the next test holds every admin to it)."""
    ours = ("branching.", "instances.", "releasemgr.", "django.contrib.auth.")
    registry = admin.site._registry
    assert any(m.__module__.startswith("django_q.") for m in registry)  # not ours
    for model, model_admin in registry.items():
        mine = model.__module__.startswith(ours)
        assert isinstance(model_admin, GuardedInputAdmin) == mine, model


def test_no_admin_form_fails_on_bad_ids(client_for, pipeline):
    """Each add form of the admin, every field given each bad value in turn: the form comes
    back with its errors (200), or the admin refuses the page (403/404)."""
    client = client_for("admin")
    for model in admin.site._registry:
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        page = client.get(url)
        if page.status_code != 200:
            continue  # no add page for it (read-only models)
        fields = set(INPUT.findall(page.content.decode())) - {"csrfmiddlewaretoken"}
        for value in (HUGE, "²"):
            response = client.post(url, dict.fromkeys(fields, value))
            assert response.status_code in (200, 403, 404), (url, value)


def test_an_autocomplete_choice_that_names_no_object_is_a_form_error(client_for, pipeline):
    response = client_for("admin").post(
        reverse("admin:instances_instance_add"), {"name": "X", "parent": "²"}
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "parent" in errors


def test_a_date_hierarchy_beyond_any_calendar_is_django_s_bad_filter_page(client_for, pipeline):
    client = client_for("admin")
    for name in ("admin:instances_deployment_changelist", "admin:releasemgr_auditevent_changelist"):
        response = client.get(reverse(name), {"created_at__year": HUGE})
        assert response.status_code == 302
        assert response["Location"].endswith("?e=1")


def test_the_user_and_group_admins_guard_their_permissions_too(client_for, pipeline):
    client = client_for("admin")
    response = client.post(
        reverse("admin:auth_group_add"), {"name": "Approvers", "permissions": [HUGE]}
    )
    assert response.status_code == 200
    assert "permissions" in response.context["adminform"].form.errors
    assert not Feature.objects.exists()

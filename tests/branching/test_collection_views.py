"""Collection pages: release managers group features into releases; everyone with a role reads."""

import pytest
from django.urls import reverse

from branching.models import Collection
from tests.conftest import make_repository
from tests.instances.promotions.helpers import HOSTILE, make_feature
from tests.personas import MANAGE, PERSONAS, READ

pytestmark = pytest.mark.django_db


@pytest.fixture
def collection(pipeline, developer):
    release = Collection.objects.create(name="Spring release")
    release.features.add(make_feature(pipeline["repo"], "RM-1", developer, title="Invoices"))
    return release


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("name", "expected", "needs_pk"),
    [
        ("collection_list", READ, False),
        ("collection_detail", READ, True),
        ("collection_create", MANAGE, False),
        ("collection_edit", MANAGE, True),
    ],
)
def test_it_enforces_the_permission_matrix(
    client_for, collection, persona, name, expected, needs_pk
):
    response = client_for(persona).get(reverse(name, args=[collection.pk] if needs_pk else []))
    assert response.status_code == expected[persona]


def test_it_refuses_a_developer_who_posts_a_collection(client_for, pipeline):
    response = client_for("developer").post(reverse("collection_create"), {"name": "Mine"})
    assert response.status_code == 403
    assert not Collection.objects.exists()


def test_it_creates_a_collection_with_its_features(client_for, pipeline, developer, personas):
    one = make_feature(pipeline["repo"], "RM-1", developer)
    two = make_feature(pipeline["repo"], "RM-2", developer)
    response = client_for("release_manager").post(
        reverse("collection_create"), {"name": "Spring", "features": [one.pk, two.pk]}
    )
    collection = Collection.objects.get(name="Spring")
    assert response["Location"] == collection.get_absolute_url()
    assert set(collection.features.all()) == {one, two}
    assert collection.created_by == personas["release_manager"]
    body = client_for("developer").get(collection.get_absolute_url()).content.decode()
    assert one.get_absolute_url() in body and two.get_absolute_url() in body
    assert f"?collection={collection.pk}" in body  # "Promote this collection"


def test_it_refuses_features_of_different_storages(client_for, pipeline, developer):
    here = make_feature(pipeline["repo"], "RM-1", developer)
    elsewhere = make_feature(make_repository(), "XX-1", developer)
    response = client_for("release_manager").post(
        reverse("collection_create"), {"name": "Mixed", "features": [here.pk, elsewhere.pk]}
    )
    assert response.status_code == 200
    assert "different git storages" in response.context["form"].errors["features"][0]
    # The admin holds a collection to the same rule.
    response = client_for("admin").post(
        reverse("admin:branching_collection_add"),
        {"name": "Mixed", "features": [here.pk, elsewhere.pk]},
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "different git storages" in errors["features"][0]
    assert not Collection.objects.exists()


def test_it_edits_a_collection(client_for, collection, pipeline, developer):
    extra = make_feature(pipeline["repo"], "RM-2", developer)
    client_for("release_manager").post(
        reverse("collection_edit", args=[collection.pk]),
        {"name": "Spring release", "features": [extra.pk]},
    )
    assert [f.key for f in collection.features.all()] == ["RM-2"]


def test_it_escapes_hostile_titles_and_names(client_for, pipeline, developer):
    release = Collection.objects.create(name=HOSTILE)
    release.features.add(make_feature(pipeline["repo"], "RM-1", developer, title=HOSTILE))
    for url in (
        release.get_absolute_url(),
        reverse("collection_list"),
        reverse("collection_edit", args=[release.pk]),
    ):
        body = client_for("release_manager").get(url).content.decode()
        assert "<script>alert" not in body and "<img src=x" not in body

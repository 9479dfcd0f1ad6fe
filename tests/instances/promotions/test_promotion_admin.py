"""The admin for features, collections, promotions and where features are."""

import pytest
from django.contrib import admin
from django.urls import reverse

from branching.models import Collection, Feature
from instances.models import FeaturePresence, Promotion
from instances.promotions.log import log
from tests.instances.promotions.helpers import HOSTILE, make_feature, make_promotion, place

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [Feature, Collection, Promotion, FeaturePresence])
def test_it_registers_the_model(model):
    assert admin.site.is_registered(model)


@pytest.fixture
def promotion(pipeline, developer):
    feature = make_feature(pipeline["repo"], "RM-1", developer, title=HOSTILE)
    place(feature, pipeline["alice"])
    collection = Collection.objects.create(name="Spring")
    collection.features.add(feature)
    promotion = make_promotion(
        pipeline["integration"], [feature], developer, source=pipeline["alice"]
    )
    log(promotion, "Moved integration", from_commit="1" * 40, to_commit="2" * 40)
    return promotion


def test_it_lists_searches_and_filters(client_for, promotion, pipeline):
    client = client_for("admin")
    for model in (Feature, Collection, Promotion, FeaturePresence):
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert client.get(url).status_code == 200
        assert client.get(url, {"q": "RM-1"}).status_code == 200
    url = reverse("admin:instances_promotion_changelist")
    for query in (
        {"status__exact": "queued"},
        {"direction__exact": "forward"},
        {"target__id__exact": pipeline["integration"].pk},
    ):
        assert client.get(url, query).context["cl"].result_count == 1
    assert client.get(url, {"status__exact": "failed"}).context["cl"].result_count == 0


def test_it_shows_a_promotion_read_only_with_its_features_and_log(client_for, promotion):
    response = client_for("admin").get(
        reverse("admin:instances_promotion_change", args=[promotion.pk])
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Moved integration" in body and "RM-1" in body
    assert 'name="status"' not in body and 'name="log-0-message"' not in body
    assert "<script>alert" not in body
    assert client_for("admin").get(reverse("admin:instances_promotion_add")).status_code == 403


def test_it_edits_a_collection_with_a_horizontal_filter(client_for, promotion):
    collection = Collection.objects.get()
    body = (
        client_for("admin")
        .get(reverse("admin:branching_collection_change", args=[collection.pk]))
        .content.decode()
    )
    assert "selectfilter" in body.lower()


def test_it_leaves_starting_features_to_the_app(client_for, db):
    assert client_for("admin").get(reverse("admin:branching_feature_add")).status_code == 403

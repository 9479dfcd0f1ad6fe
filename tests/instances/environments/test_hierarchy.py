"""docs/design.md, invariant 5: the hierarchy rules, in model validation and in the database."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from instances.models import Instance, OrgType, Purpose
from tests.conftest import make_instance, make_repository

pytestmark = pytest.mark.django_db


def errors_of(instance: Instance) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        instance.full_clean()
    return caught.value.message_dict


def test_it_accepts_the_demo_shaped_pipeline(pipeline):
    for instance in Instance.objects.all():
        instance.full_clean()


def test_it_refuses_a_cycle(pipeline):
    prod = pipeline["prod"]
    prod.purpose, prod.org_type = Purpose.STAGING, OrgType.SANDBOX  # let it have a parent
    prod.parent = pipeline["alice"]
    assert "would create a cycle" in errors_of(prod)["parent"][0]


def test_it_refuses_a_two_step_cycle(pipeline):
    qa = pipeline["qa"]
    qa.parent = pipeline["integration"]
    assert "would create a cycle" in errors_of(qa)["parent"][0]


def test_it_refuses_being_its_own_parent_in_validation_and_database(pipeline):
    qa = pipeline["qa"]
    qa.parent = qa
    assert "its own parent" in errors_of(qa)["parent"][0]
    with pytest.raises(IntegrityError), transaction.atomic():
        Instance.objects.filter(pk=qa.pk).update(parent=qa.pk)


def test_it_refuses_a_parent_for_production_in_validation_and_database(pipeline):
    prod = pipeline["prod"]
    prod.parent = pipeline["uat"]
    assert errors_of(prod)["parent"] == ["A production instance cannot have a parent."]
    with pytest.raises(IntegrityError), transaction.atomic():
        Instance.objects.filter(pk=prod.pk).update(parent=pipeline["qa"])


def test_it_treats_a_production_org_as_production(pipeline):
    hotfix = make_instance(pipeline["repo"], purpose=Purpose.HOTFIX, org_type=OrgType.PRODUCTION)
    hotfix.parent = pipeline["uat"]
    assert errors_of(hotfix)["parent"] == ["A production instance cannot have a parent."]


def test_it_refuses_children_under_a_scratch_org(pipeline):
    child = Instance(
        name="Below scratch",
        purpose=Purpose.DEVELOPMENT,
        repository=pipeline["repo"],
        branch="dev/below",
        parent=pipeline["scratch"],
    )
    assert "scratch orgs cannot have children" in errors_of(child)["parent"][0]


def test_it_refuses_turning_a_parent_into_a_scratch_org(pipeline):
    integration = pipeline["integration"]
    integration.org_type = OrgType.SCRATCH
    assert "cannot have children" in errors_of(integration)["org_type"][0]


def test_it_refuses_a_parent_in_another_git_storage(pipeline):
    other = make_repository(name="Elsewhere", storage="elsewhere")
    child = Instance(
        name="Lost",
        purpose=Purpose.DEVELOPMENT,
        repository=other,
        branch="dev/lost",
        parent=pipeline["integration"],
    )
    assert "another git storage" in errors_of(child)["parent"][0]


def test_it_allows_a_parent_in_a_long_term_repository_on_the_same_storage(pipeline):
    long_term = make_repository(
        name="Q1", storage="acme", main_branch="release/2027-q1", is_long_term=True
    )
    child = Instance(
        name="Q1 Staging",
        purpose=Purpose.STAGING,
        repository=long_term,
        branch="release/2027-q1-staging",
        parent=pipeline["uat"],
    )
    child.full_clean()


def test_it_allows_remote_repositories_spelled_differently_to_share_storage():
    one = make_repository(name="One", remote_url="https://git.example.com/acme/sf.git")
    two = make_repository(name="Two", remote_url="https://git.example.com/acme/sf/")
    assert one.storage_key == two.storage_key


def test_it_refuses_two_instances_on_one_branch_of_one_storage(pipeline):
    long_term = make_repository(name="Q1", storage="acme", main_branch="release/2027-q1")
    clash = Instance(name="Clash", purpose=Purpose.QA, repository=long_term, branch="qa")
    assert "already uses branch “qa”" in errors_of(clash)["branch"][0]
    with pytest.raises(IntegrityError), transaction.atomic():
        Instance.objects.create(name="Clash", purpose=Purpose.QA, repository=long_term, branch="qa")


def test_it_allows_the_same_branch_name_in_different_storages(pipeline):
    other = make_repository(name="Other", storage="other")
    make_instance(other, branch="qa").full_clean()


def test_it_keeps_instances_storage_in_step_with_their_repository(pipeline):
    repo = pipeline["repo"]
    repo.storage = "renamed"
    repo.save()
    assert set(Instance.objects.values_list("storage_key", flat=True)) == {"local:renamed"}


def test_it_refuses_deleting_an_instance_with_children(pipeline):
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        pipeline["integration"].delete()

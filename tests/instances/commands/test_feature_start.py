"""`manage.py feature_start`: a feature branch git can clone and push to, and its refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from branching.git import storage
from branching.models import Feature
from instances.models import PromotionStatus
from instances.promotions import engine
from tests.gitservers import git
from tests.instances.commands.cli import contains, head, queued, refused, run

pytestmark = pytest.mark.django_db


def test_it_starts_a_feature_whose_clone_url_git_can_clone_and_push_to(
    git_pipeline, developer, tmp_path: Path
) -> None:
    out = run(
        "feature_start",
        "--instance",
        "Dev Alice",
        "--key",
        "RM-42",
        "--title",
        "Invoice totals",
        "--as",
        developer.username,
        "--json",
    )
    started = json.loads(out)
    repository = git_pipeline["repo"]
    assert started["key"] == "RM-42"
    assert started["branch"] == "feature/RM-42-invoice-totals"
    assert started["repository"] == repository.name
    assert started["clone_url"] == "http://127.0.0.1:8000/git/acme.git"  # SITE_URL's service
    assert started["path"] == str(repository.local_path)
    feature = Feature.objects.get(key="RM-42")
    assert feature.owner == developer and feature.started_from == git_pipeline["alice"]
    assert feature.base_commit == head(git_pipeline["prod"]) == started["base_commit"]

    work = tmp_path / "work"
    git("clone", "--quiet", "--branch", started["branch"], started["path"], work)
    (work / "force-app/main/default/classes/Invoice.cls").write_text(
        "public class Invoice {\n  Decimal total;\n}\n"
    )
    git("commit", "--quiet", "-am", "Invoice totals", cwd=work)
    pushed = git("rev-parse", "HEAD", cwd=work)
    git("push", "--quiet", "origin", started["branch"], cwd=work)
    with storage.open_repo(repository.local_path) as repo:
        assert storage.hex_id(storage.branch_head(repo, started["branch"])) == pushed

    # What was pushed is what enters the instance.
    promotion_id = queued("RM-42", "Dev Alice", developer)
    assert engine.run_promotion(promotion_id, "test-worker") == PromotionStatus.SUCCEEDED
    assert contains(git_pipeline["alice"], pushed)


def test_it_makes_the_first_superuser_the_owner_without_as(git_pipeline, personas) -> None:
    out = run("feature_start", "--instance", "Dev Bob", "--key", "RM-7", "--title", "Tax")
    assert "Started RM-7 “Tax” from Dev Bob: branch feature/RM-7-tax" in out
    assert "git clone --branch feature/RM-7-tax " in out
    assert Feature.objects.get(key="RM-7").owner == personas["admin"]


def test_it_refuses_bad_feature_input_with_a_message(git_pipeline, personas) -> None:
    args = ["feature_start", "--key", "RM-1", "--title", "One"]
    assert "There is no instance “Nowhere”. Instances: Dev Alice, Dev Bob" in refused(
        *args, "--instance", "Nowhere"
    )
    assert "There is no user “ghost”" in refused(*args, "--instance", "Dev Alice", "--as", "ghost")
    assert "oscar-outsider may not add features" in refused(
        *args, "--instance", "Dev Alice", "--as", "oscar-outsider"
    )
    message = refused(
        "feature_start", "--instance", "Dev Alice", "--key", "not a key", "--title", "x"
    )
    assert "A feature key is a project code, a dash and a number" in message
    run(*args, "--instance", "Dev Alice")
    assert "already exists" in refused(*args, "--instance", "Dev Bob")
    personas["developer"].is_active = False
    personas["developer"].save()
    assert "inactive" in refused(*args, "--instance", "Dev Bob", "--as", "dan-dev")


def test_it_refuses_a_branch_name_git_cannot_have(git_pipeline, personas) -> None:
    with storage.open_repo(git_pipeline["repo"].local_path) as repo:
        storage.create_branch(repo, "feature", storage.branch_head(repo, "main"))
    message = refused("feature_start", "--instance", "Dev Alice", "--key", "RM-1", "--title", "One")
    assert "Branch “feature” exists, so “feature/RM-1-one” cannot be created" in message
    assert not Feature.objects.exists()


def test_it_needs_a_user_when_there_is_no_superuser(git_pipeline, developer) -> None:
    message = refused("feature_start", "--instance", "Dev Alice", "--key", "RM-1", "--title", "x")
    assert "no active superuser" in message
    assert not Feature.objects.exists()


# --------------------------------------------------------------------------- promote

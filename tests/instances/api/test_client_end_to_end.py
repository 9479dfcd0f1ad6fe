"""End to end: `releasemgr-client` from its wheel in a fresh virtual environment without
Django, against a live server and a real task cluster (`manage.py qcluster`).

Start a feature, commit to it with git, promote it into its instance and on to Integration with
`--wait` (exit 0), then to QA and UAT; UAT waits for approval, and `--wait` follows it until a
second user's token approves it, then exits 0.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from instances.models import FeaturePresence, Promotion, PromotionStatus
from releasemgr import tokens
from tests.gitservers import git
from tests.instances.promotions.helpers import TAX, head, promote_invoice
from tests.workers import ROOT, task_cluster, wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CLIENT = ROOT / "client"


def build_client_venv(tmp_path: Path) -> Path:
    """The client's wheel (built offline), installed alone into a new virtual environment."""
    source = tmp_path / "client-src"
    shutil.copytree(CLIENT, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            str(source),
            "-w",
            str(dist),
        ],
        check=True,
    )
    wheel = next(dist.glob("releasemgr_client-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--no-index", "--no-deps", str(wheel)],
        check=True,
    )
    no_django = subprocess.run([str(venv / "bin" / "python"), "-c", "import django"])
    assert no_django.returncode != 0, "the client's environment must not have Django"
    return venv / "bin" / "releasemgr-client"


def client_env(url: str, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "RELEASEMGR"))}
    env.update(RELEASEMGR_URL=url, RELEASEMGR_TOKEN=token, RELEASEMGR_POLL_SECONDS="0.3")
    env.pop("PYTHONPATH", None)
    return env


def test_the_client_drives_a_feature_up_to_uat_with_an_approval(
    live_server, git_pipeline, developer, release_manager, tmp_path, settings
):
    settings.SITE_URL = live_server.url  # clone_url: releasemgr's own git over HTTP
    uat = git_pipeline["uat"]
    uat.requires_approval = True
    uat.save(update_fields=["requires_approval"])
    program = build_client_venv(tmp_path)
    _, dev_token = tokens.create_token(developer, "ci-main", ["promote"])
    _, rm_token = tokens.create_token(release_manager, "release-desk", ["approve"])
    as_dev = client_env(live_server.url, dev_token)
    as_rm = client_env(live_server.url, rm_token)

    def client(*args: str, env: dict[str, str] = as_dev) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(program), *args], env=env, capture_output=True, text=True, timeout=300
        )

    started = client(
        "feature",
        "start",
        "--instance",
        "Dev Alice",
        "--key",
        "RM-77",
        "--title",
        "Invoice totals",
        "--json",
    )
    assert started.returncode == 0, started.stderr
    feature = json.loads(started.stdout)
    assert feature["branch"] == "feature/RM-77-invoice-totals"
    assert feature["started_from"] == "Dev Alice"

    work = tmp_path / "work"
    # Over HTTP, as a developer's machine would: the username and the token as the password.
    assert feature["clone_url"].startswith(live_server.url + "/git/")
    scheme, rest = feature["clone_url"].split("://", 1)
    authed = f"{scheme}://{developer.username}:{dev_token}@{rest}"
    git("clone", "--quiet", "--branch", feature["branch"], authed, work)
    invoice = work / "force-app/main/default/classes/Invoice.cls"
    invoice.write_text("public class Invoice {\n    Decimal total;\n}\n")
    git(
        "-c",
        "user.name=Dan",
        "-c",
        "user.email=dan@example.com",
        "commit",
        "--quiet",
        "-am",
        "Invoice totals",
        cwd=work,
    )
    pushed = git("rev-parse", "HEAD", cwd=work)
    git("push", "--quiet", "origin", feature["branch"], cwd=work)

    log = tmp_path / "qcluster.log"
    with task_cluster(log, Q_WORKERS="2"):
        for target in ("Dev Alice", "Integration", "QA"):
            done = client("promote", "RM-77", "--to", target, "--wait", "--timeout", "120")
            assert done.returncode == 0, done.stdout + done.stderr + log.read_text()[-3000:]
            assert f"into {target}" in done.stdout
            assert "(via token ci-main)" in done.stdout
            assert done.stdout.rstrip().endswith("succeeded.")

        waiting = subprocess.Popen(
            [str(program), "promote", "RM-77", "--to", "UAT", "--wait", "--timeout", "180"],
            env=as_dev,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            promotion = wait_for(
                lambda: Promotion.objects.filter(
                    target=uat, status=PromotionStatus.AWAITING_APPROVAL
                ).first(),
                timeout=60,
                what="the UAT promotion awaiting approval",
            )
            time.sleep(1)  # --wait is following it now
            assert waiting.poll() is None, "--wait must wait for the approval"
            refused = client("approve", str(promotion.pk), "--reason", "mine")
            assert refused.returncode == 2
            assert "does not have the “Approve or reject” scope" in refused.stderr
            approved = client(
                "approve", str(promotion.pk), "--reason", "Signed off by finance", env=as_rm
            )
            assert approved.returncode == 0, approved.stderr
            out, err = waiting.communicate(timeout=180)
        finally:
            if waiting.poll() is None:
                waiting.kill()
                waiting.wait()
    assert waiting.returncode == 0, out + err + log.read_text()[-3000:]
    first, second = out.splitlines()[:2]
    assert first == f"Promotion #{promotion.pk} (promote): RM-77 into UAT, awaiting approval."
    assert "approval" in second
    assert "rita-rm approved: Signed off by finance. (via token release-desk)" in out
    assert out.rstrip().endswith(f"Promotion #{promotion.pk} succeeded.")

    status = client("status", str(promotion.pk))
    assert status.returncode == 0 and "succeeded" in status.stdout
    merged = head(uat)
    bare = git_pipeline["repo"].local_path
    assert (
        git("merge-base", "--is-ancestor", pushed, merged, cwd=bare) == ""
    )  # the commit is in UAT
    assert set(
        FeaturePresence.objects.filter(feature__key="RM-77").values_list(
            "instance__name", flat=True
        )
    ) == {"Dev Alice", "Integration", "QA", "UAT"}


def test_the_client_refuses_bad_input_with_exit_2_and_no_traceback(
    live_server, git_pipeline, developer, tmp_path
):
    program = build_client_venv(tmp_path)
    _, raw = tokens.create_token(developer, "ci-main", ["promote"])
    env = client_env(live_server.url, raw)
    cases = [
        (["promote", "RM-404", "--to", "Integration"], "RM-404 is not one of the available"),
        (["promote", "RM-1", "--to", "Nowhere"], "There is no instance “Nowhere”."),
        (["approve", "abc"], "“abc” is not a promotion number."),
        (["status", "999999"], "No promotion with id 999999."),
        (
            ["feature", "start", "--instance", "Dev Alice", "--key", "bad", "--title", "x"],
            "A feature key is a project code",
        ),
    ]
    for args, message in cases:
        done = subprocess.run([str(program), *args], env=env, capture_output=True, text=True)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
    no_token = {**env, "RELEASEMGR_TOKEN": "rmp_000000000000_" + "z" * 43}
    done = subprocess.run([str(program), "status"], env=no_token, capture_output=True, text=True)
    assert done.returncode == 2 and "The access token is not valid." in done.stderr
    unset = {k: v for k, v in env.items() if k != "RELEASEMGR_URL"}
    done = subprocess.run([str(program), "status"], env=unset, capture_output=True, text=True)
    assert done.returncode == 2 and "Set RELEASEMGR_URL" in done.stderr


def test_the_client_is_python_3_9_source():
    for path in (CLIENT / "releasemgr_client").glob("*.py"):
        ast.parse(path.read_text(), filename=str(path), feature_version=(3, 9))


def test_the_client_rolls_back_a_promotion_and_follows_it(
    live_server, git_pipeline, developer, release_manager, tmp_path
):
    _, promoted = promote_invoice(git_pipeline, developer)
    program = build_client_venv(tmp_path)
    _, rm_token = tokens.create_token(release_manager, "release-desk", ["promote"])
    _, dev_token = tokens.create_token(developer, "ci-main", ["promote"])

    def client(*args: str, token: str = rm_token) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(program), *args],
            env=client_env(live_server.url, token),
            capture_output=True,
            text=True,
            timeout=300,
        )

    listed = client("rollback", str(promoted.pk))
    assert listed.returncode == 2, listed.stderr
    assert f"Rolling back promotion #{promoted.pk} cannot undo:" in listed.stderr
    assert "Run again with --acknowledge" in listed.stderr
    refused = client("rollback", str(promoted.pk), "--acknowledge", token=dev_token)
    assert refused.returncode == 2 and "You may not roll back" in refused.stderr
    assert not Promotion.objects.filter(rollback_of=promoted).exists()

    log = tmp_path / "qcluster.log"
    with task_cluster(log, Q_WORKERS="2"):
        done = client("rollback", str(promoted.pk), "--acknowledge", "--wait", "--timeout", "120")
    assert done.returncode == 0, done.stdout + done.stderr + log.read_text()[-3000:]
    rollback = Promotion.objects.get(rollback_of=promoted)
    first = done.stdout.splitlines()[0]
    assert first == (
        f"Promotion #{rollback.pk} (roll back): promotion #{promoted.pk} (RM-1) in Integration, "
        "queued."
    )
    assert f"Reverted the merges of promotion #{promoted.pk}." in done.stdout
    assert done.stdout.rstrip().endswith(f"Promotion #{rollback.pk} succeeded.")
    bare = git_pipeline["repo"].local_path
    assert git("ls-tree", "--name-only", head(git_pipeline["integration"]), TAX, cwd=bare) == ""

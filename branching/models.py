"""The branching strategy's data: repositories (features and collections come with the engine).

`branching` knows git and Salesforce's metadata formats, not environments: nothing here
imports from `instances`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.text import slugify

from branching.git.transport import RemotePolicy, display_url, url_problem
from branching.refnames import validate_branch_name
from releasemgr.crypto import EncryptedField


def remote_policy() -> RemotePolicy:
    """Where this server may connect for git, from the settings (see branching/git/transport)."""
    return RemotePolicy(
        local_root=str(settings.GIT_LOCAL_ROOT or ""),
        allow_insecure=settings.GIT_ALLOW_INSECURE_TRANSPORTS,
        allow_private=settings.GIT_ALLOW_PRIVATE_ADDRESSES,
        connect_timeout=settings.NETWORK_CONNECT_TIMEOUT,
        read_timeout=settings.NETWORK_READ_TIMEOUT,
    )


def validate_remote_url(url: str) -> None:
    problem = url_problem(url, remote_policy())
    if problem:
        raise ValidationError(problem, code="remote_url")


def normalize_remote(url: str) -> str:
    """One spelling per remote, so two Repositories on the same remote share storage (and no
    credentials, which are not part of where the remote is)."""
    url = display_url(url.strip()).rstrip("/")
    if url.endswith(".git"):
        url = url[: -len(".git")]
    return url.rstrip("/")


class SourceFormat(models.TextChoices):
    SOURCE = "source", "Salesforce DX source format"
    METADATA = "metadata", "Metadata API format"


class Repository(models.Model):
    """A git repository plus the main branch that features are cut from.

    A long-term project is a Repository whose main branch is its long-term branch, usually on
    the same storage as the everyday Repository: its instances may be parents or children of
    the everyday ones, and features started from them are cut from the long-term branch.
    """

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    remote_url = models.CharField(
        "remote URL",
        max_length=500,
        blank=True,
        validators=[validate_remote_url],
        help_text="Leave empty for a bare repository kept by releasemgr itself.",
    )
    storage = models.SlugField(
        "local storage name",
        max_length=100,
        blank=True,
        help_text="Name of the local bare repository (without a remote). Repositories with the "
        "same name share one git storage. Defaults to a slug of the name.",
    )
    main_branch = models.CharField(
        max_length=255,
        default="main",
        validators=[validate_branch_name],
        help_text="Features are cut from this branch: main, master, or a long-term branch.",
    )
    is_long_term = models.BooleanField(
        "long-term project",
        default=False,
        help_text="A long-term project, whose main branch is a long-term branch.",
    )
    source_format = models.CharField(
        max_length=10, choices=SourceFormat.choices, default=SourceFormat.SOURCE
    )
    package_directories = models.JSONField(
        default=list, blank=True, help_text="Read from sfdx-project.json."
    )
    source_api_version = models.CharField("source API version", max_length=10, blank=True)
    remote_username = models.CharField(max_length=200, blank=True)
    remote_secret = EncryptedField(
        blank=True, help_text="Password or access token for the remote; stored encrypted."
    )
    # Derived from remote_url / storage on save; identifies the git storage so that the
    # "two instances never share a branch of one storage" constraint can be a database index.
    storage_key = models.CharField(max_length=600, editable=False, db_index=True)
    # Written by the scheduled housekeeping (branching.tasks.housekeeping), shown on the page.
    storage_bytes = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    housekept_at = models.DateTimeField(null=True, blank=True, editable=False)
    housekeeping_summary = models.CharField(max_length=300, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "repositories"

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        if not self.remote_url and not self.storage:
            self.storage = slugify(self.name)
        self.storage_key = self.compute_storage_key()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "storage_key"}  # type: ignore[misc]
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def get_absolute_url(self) -> str:
        return reverse("repository_detail", args=[self.pk])

    def compute_storage_key(self) -> str:
        if self.remote_url:
            return "remote:" + normalize_remote(self.remote_url)
        return "local:" + (self.storage or slugify(self.name))

    @property
    def local_path(self) -> Path:
        """The bare repository on this machine: the storage itself, or a cache of the remote."""
        root = settings.REPOSITORIES_DIR
        if self.remote_url:
            digest = hashlib.sha256(normalize_remote(self.remote_url).encode()).hexdigest()[:20]
            return root / "mirrors" / f"{digest}.git"
        return root / f"{self.storage or slugify(self.name)}.git"

    @property
    def location(self) -> str:
        if self.remote_url:
            return display_url(self.remote_url)  # never with credentials
        return f"local storage “{self.storage or slugify(self.name)}”"

    def clean(self) -> None:
        if not self.remote_url and not (self.storage or slugify(self.name)):
            raise ValidationError({"storage": "Give a storage name made of letters or digits."})


_FEATURE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-[0-9]+$")


def validate_feature_key(key: str) -> None:
    if not _FEATURE_KEY.match(key):
        raise ValidationError(
            "A feature key is a project code, a dash and a number, such as RM-42.",
            code="invalid_key",
        )


def feature_branch_name(key: str, title: str) -> str:
    """`feature/<key>-<slug>`: readable, and always a valid git branch name."""
    slug = slugify(title)[:40].strip("-")
    return f"feature/{key}-{slug}" if slug else f"feature/{key}"


class Feature(models.Model):
    """A unit of change on its own branch, cut from its repository's main branch.

    Features are what promotions merge (docs/design.md, invariant 2): environment branches are never
    merged into one another, so a feature that was not promoted never rides along.
    """

    repository = models.ForeignKey(Repository, on_delete=models.PROTECT, related_name="features")
    key = models.CharField(max_length=50, unique=True, validators=[validate_feature_key])
    title = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="features"
    )
    branch = models.CharField(max_length=255, validators=[validate_branch_name])
    base_commit = models.CharField(
        max_length=64, blank=True, help_text="The main-branch commit the feature was cut from."
    )
    # Where the feature was started. A string reference: `branching` knows nothing of instances.
    started_from = models.ForeignKey(
        "instances.Instance",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="started_features",
    )
    # When its own work began (the oldest commit of the branch since it was cut), recorded when
    # it is first promoted: the start of its lead time for changes on the metrics page.
    first_commit_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "branch"],
                name="feature_one_per_branch",
                violation_error_message="Another feature already uses this branch.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("feature_detail", args=[self.key])


def features_by_key(keys: Iterable[str]) -> models.QuerySet[Feature]:
    """The features with these keys. A string no key can be names none: one holding NUL,
    which PostgreSQL's text refuses (a lookup of it would raise, not find nothing)."""
    return Feature.objects.filter(key__in=[k for k in keys if "\0" not in k])


class Collection(models.Model):
    """Features promoted together: a release."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    features = models.ManyToManyField(Feature, related_name="collections", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("collection_detail", args=[self.pk])

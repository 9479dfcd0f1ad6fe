"""The environment strategy's data: instances, their hierarchy, and how to reach their orgs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from branching.models import Repository
from branching.refnames import validate_branch_name
from instances.salesforce.credentials import AuthMethod, Credentials, OrgType
from instances.salesforce.deploy import TestLevel
from releasemgr.crypto import EncryptedField

if TYPE_CHECKING:
    from instances.salesforce.org import OrgFacts


class Purpose(models.TextChoices):
    DEVELOPMENT = "development", "Development"
    INTEGRATION = "integration", "Integration"
    QA = "qa", "QA"
    UAT = "uat", "UAT"
    STAGING = "staging", "Staging"
    PRODUCTION = "production", "Production"
    HOTFIX = "hotfix", "Hotfix"


class IgnoreWarnings(models.TextChoices):
    """Whether a deployment sends ignoreWarnings: a warning (deleting a component the org
    lacks, say) otherwise fails the whole deployment."""

    DESTRUCTIVE = "destructive", "When the package deletes components"
    ALWAYS = "always", "Always"
    NEVER = "never", "Never"


class Instance(models.Model):
    """An environment: one org (over time, possibly several) and the branch that mirrors it."""

    name = models.CharField(max_length=100, unique=True)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    org_type = models.CharField(
        "org type", max_length=20, choices=OrgType.choices, default=OrgType.SANDBOX
    )
    repository = models.ForeignKey(Repository, on_delete=models.PROTECT, related_name="instances")
    branch = models.CharField(
        max_length=255,
        validators=[validate_branch_name],
        help_text="The branch that mirrors what is deployed in this instance's org.",
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        help_text="The next environment up: features are promoted from here to the parent.",
    )
    description = models.TextField(blank=True)
    test_level = models.CharField(
        max_length=20,
        choices=TestLevel.choices,
        default=TestLevel.NO_TEST_RUN,
        help_text="Apex tests run by deployments to this instance's org. Production orgs "
        "refuse “No tests”: a new production instance runs the local tests unless you choose "
        "others.",
    )
    ignore_warnings = models.CharField(
        "ignore warnings",
        max_length=20,
        choices=IgnoreWarnings.choices,
        default=IgnoreWarnings.DESTRUCTIVE,
        help_text="Deploy despite warnings (such as deleting a component the org does not "
        "have); the warnings are shown on the deployment. Otherwise a warning fails the "
        "deployment.",
    )
    validate_first = models.BooleanField(
        default=False,
        help_text="Validate (check only) first, then quick-deploy the validation.",
    )
    requires_approval = models.BooleanField(
        default=False,
        help_text="Promotions into this instance wait until a release manager other than the "
        "requester approves them.",
    )
    # A copy of repository.storage_key (kept in step by a signal) so that the database itself
    # refuses two instances on one branch of one git storage.
    storage_key = models.CharField(max_length=600, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["storage_key", "branch"],
                name="instance_one_branch_per_storage",
                violation_error_message="Another instance already uses this branch of this git "
                "storage.",
            ),
            models.CheckConstraint(
                condition=~Q(parent=F("id")),
                name="instance_not_own_parent",
                violation_error_message="An instance cannot be its own parent.",
            ),
            models.CheckConstraint(
                condition=Q(parent__isnull=True)
                | (~Q(purpose=Purpose.PRODUCTION) & ~Q(org_type=OrgType.PRODUCTION)),
                name="instance_production_has_no_parent",
                violation_error_message="A production instance cannot have a parent.",
            ),
        ]
        indexes = [
            # Dashboard and list: instances of one repository, drawn per repository.
            models.Index(fields=["repository", "name"], name="instance_repository_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        if self._state.adding and self.is_production and self.test_level == TestLevel.NO_TEST_RUN:
            # The default per org type: production orgs refuse NoTestRun.
            self.test_level = TestLevel.RUN_LOCAL_TESTS
        self.storage_key = self.repository.storage_key
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "storage_key"}  # type: ignore[misc]
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def get_absolute_url(self) -> str:
        return reverse("instance_detail", args=[self.pk])

    @property
    def is_production(self) -> bool:
        return self.purpose == Purpose.PRODUCTION or self.org_type == OrgType.PRODUCTION

    @property
    def is_scratch(self) -> bool:
        return self.org_type == OrgType.SCRATCH

    def clean(self) -> None:
        """The hierarchy rules of docs/design.md, invariant 5, with messages for the form."""
        if self.repository_id is None:
            return
        self.storage_key = self.repository.storage_key
        errors: dict[str, str] = {}
        parent = self.parent
        if parent is not None:
            if self.is_production:
                errors["parent"] = "A production instance cannot have a parent."
            elif self.pk is not None and parent.pk == self.pk:
                errors["parent"] = "An instance cannot be its own parent."
            elif parent.is_scratch:
                errors["parent"] = (
                    f"“{parent}” is a scratch-org instance; scratch orgs cannot have children."
                )
            elif parent.repository.storage_key != self.storage_key:
                errors["parent"] = (
                    f"“{parent}” lives in another git storage ({parent.repository.location}); "
                    "a parent and its child must share one."
                )
            elif self.pk is not None and self._would_create_cycle(parent):
                errors["parent"] = (
                    f"“{parent}” is below this instance in the hierarchy; making it the parent "
                    "would create a cycle."
                )
        if self.pk is None and self.is_production and self.test_level == TestLevel.NO_TEST_RUN:
            self.test_level = TestLevel.RUN_LOCAL_TESTS  # the production default, as in save()
        if self.test_level not in self.allowed_test_levels:
            errors["test_level"] = (
                "Production orgs refuse deployments without tests: choose local tests, all "
                "tests, or specified tests."
            )
        if self.pk is not None and self.is_scratch and self.children.exists():
            errors["org_type"] = (
                "This instance has children; a scratch-org instance cannot have children."
            )
        if self.pk is not None and self.children.exclude(storage_key=self.storage_key).exists():
            errors["repository"] = (
                "This instance has children in another git storage; a parent and its child "
                "must share one."
            )
        clash = (
            Instance.objects.filter(storage_key=self.storage_key, branch=self.branch)
            .exclude(pk=self.pk)
            .first()
        )
        if clash is not None:
            errors["branch"] = (
                f"“{clash}” already uses branch “{self.branch}” of this git storage; "
                "two instances never share a branch."
            )
        if errors:
            raise ValidationError(errors)

    def _would_create_cycle(self, parent: Instance) -> bool:
        # One query for the whole storage's parent links, then walk up in memory.
        links = dict(
            Instance.objects.filter(storage_key=self.storage_key).values_list("id", "parent_id")
        )
        seen: set[int] = set()
        node: int | None = parent.pk
        while node is not None and node not in seen:
            if node == self.pk:
                return True
            seen.add(node)
            node = links.get(node)
        return False

    @property
    def allowed_test_levels(self) -> tuple[str, ...]:
        """The levels this instance's org accepts (production refuses NoTestRun)."""
        from instances.salesforce import allowed_test_levels  # the client imports models

        return tuple(allowed_test_levels(OrgType.PRODUCTION if self.is_production else ""))

    def ignores_warnings(self, *, deletes: bool) -> bool:
        """Whether a deployment (that deletes components, or not) sends ignoreWarnings."""
        if self.ignore_warnings == IgnoreWarnings.ALWAYS:
            return True
        return self.ignore_warnings == IgnoreWarnings.DESTRUCTIVE and deletes

    def ancestors(self) -> list[Instance]:
        """Parent, grandparent, … up to the root (the path a feature travels)."""
        chain: list[Instance] = []
        node = self.parent
        while node is not None and node not in chain:
            chain.append(node)
            node = node.parent
        return chain

    @property
    def org_connection(self) -> OrgConnection | None:
        return self.org_connections.filter(is_active=True).first()


# Which secrets each auth method needs; forms and validation both read this.
REQUIRED_SECRETS: dict[str, tuple[str, ...]] = {
    AuthMethod.PASSWORD: ("password",),
    AuthMethod.JWT: ("private_key",),
    AuthMethod.SFDX_URL: ("sfdx_auth_url",),
    AuthMethod.CLIENT_CREDENTIALS: ("client_secret",),
    AuthMethod.ACCESS_TOKEN: ("access_token",),
}
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    AuthMethod.PASSWORD: ("username",),
    AuthMethod.JWT: ("username", "consumer_key"),
    AuthMethod.SFDX_URL: (),
    AuthMethod.CLIENT_CREDENTIALS: ("consumer_key",),
    AuthMethod.ACCESS_TOKEN: ("instance_url",),
}
SECRET_FIELDS = (
    "password",
    "security_token",
    "private_key",
    "client_secret",
    "sfdx_auth_url",
    "access_token",
)
# The secrets each auth method uses (the required ones and the optional security token).
SECRETS_OF_METHOD: dict[str, tuple[str, ...]] = {
    **REQUIRED_SECRETS,
    AuthMethod.PASSWORD: ("password", "security_token"),
}

LOGIN_HOSTS = {
    "https://login.salesforce.com": "Production / Developer (login.salesforce.com)",
    "https://test.salesforce.com": "Sandbox (test.salesforce.com)",
}


def validate_https_url(value: str) -> None:
    URLValidator(schemes=["https"])(value)


class OrgConnection(models.Model):
    """How to reach an instance's Salesforce org.

    An instance keeps the history of its connections: re-pointing it to a refreshed sandbox or
    a new scratch org retires the old connection instead of editing it away.
    """

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="org_connections")
    is_active = models.BooleanField(default=True)
    login_url = models.CharField(
        "login host",
        max_length=255,
        default="https://login.salesforce.com",
        validators=[validate_https_url],
        help_text="https://login.salesforce.com, https://test.salesforce.com or your My Domain "
        "(https://acme.my.salesforce.com).",
    )
    auth_method = models.CharField(max_length=20, choices=AuthMethod.choices)
    username = models.CharField(max_length=200, blank=True)
    consumer_key = models.CharField("connected app consumer key", max_length=300, blank=True)
    instance_url = models.CharField(
        "instance URL", max_length=255, blank=True, validators=[validate_https_url]
    )
    password = EncryptedField(blank=True)
    security_token = EncryptedField(blank=True)
    private_key = EncryptedField("private key (PEM)", blank=True)
    client_secret = EncryptedField("connected app consumer secret", blank=True)
    sfdx_auth_url = EncryptedField("SFDX auth URL", blank=True)
    access_token = EncryptedField(blank=True)
    # Read from the org by "Test connection".
    org_id = models.CharField("org id", max_length=18, blank=True)
    detected_org_type = models.CharField(max_length=20, choices=OrgType.choices, blank=True)
    expires_on = models.DateField(null=True, blank=True, help_text="Scratch orgs expire.")
    api_limits = models.JSONField(default=dict, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_check_error = models.TextField(blank=True)
    check_requested_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-is_active", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance"],
                condition=Q(is_active=True),
                name="org_connection_one_active_per_instance",
                violation_error_message="An instance has at most one active org connection.",
            ),
        ]

    def __str__(self) -> str:
        who = self.username or self.get_auth_method_display()
        return f"{who} @ {self.login_url.removeprefix('https://')}"

    def credentials(self) -> Credentials:
        """What the Salesforce client needs to log in with this connection."""
        return Credentials(
            auth_method=self.auth_method,
            login_url=self.login_url,
            instance_url=self.instance_url,
            username=self.username,
            consumer_key=self.consumer_key,
            password=self.password,
            security_token=self.security_token,
            private_key=self.private_key,
            client_secret=self.client_secret,
            sfdx_auth_url=self.sfdx_auth_url,
            access_token=self.access_token,
        )

    def apply_facts(self, facts: OrgFacts) -> list[str]:
        """Copy what "Test connection" learnt onto the connection (not saved); return the
        fields for `save(update_fields=…)`."""
        self.org_id = facts.org_id
        self.detected_org_type = facts.org_type
        self.expires_on = facts.expires_on
        self.api_limits = facts.limits
        self.last_checked_at = timezone.now()
        self.last_check_error = ""
        return [
            "org_id",
            "detected_org_type",
            "expires_on",
            "api_limits",
            "last_checked_at",
            "last_check_error",
        ]

    @property
    def check_pending(self) -> bool:
        """A "Test connection" was asked for and has not answered yet."""
        return self.check_requested_at is not None and (
            self.last_checked_at is None or self.last_checked_at < self.check_requested_at
        )

    def _label(self, name: str) -> str:
        return str(getattr(self._meta.get_field(name), "verbose_name", name))

    def clean(self) -> None:
        errors: dict[str, str] = {}
        for field in REQUIRED_FIELDS.get(self.auth_method, ()):
            if not getattr(self, field):
                errors[field] = f"The {self._label(field)} is required for this auth method."
        for field in REQUIRED_SECRETS.get(self.auth_method, ()):
            if not getattr(self, field):
                errors[field] = f"The {self._label(field)} is required for this auth method."
        from instances.salesforce.hosts import url_host_problem

        for name in ("login_url", "instance_url"):
            problem = getattr(self, name) and url_host_problem(getattr(self, name))
            if problem:
                errors.setdefault(name, problem)
        if (
            self.auth_method == AuthMethod.SFDX_URL
            and self.sfdx_auth_url
            and not self.sfdx_auth_url.reveal().startswith("force://")  # type: ignore[attr-defined]
        ):
            errors["sfdx_auth_url"] = "An SFDX auth URL starts with force:// (from `sf org "
            "display --verbose`)."
        if self.auth_method == AuthMethod.CLIENT_CREDENTIALS and self.login_url.rstrip("/") in (
            LOGIN_HOSTS
        ):
            errors["login_url"] = (
                "The client credentials flow works only at the org's My Domain "
                "(https://acme.my.salesforce.com), not at login.salesforce.com or "
                "test.salesforce.com."
            )
        if errors:
            raise ValidationError(errors)

    @property
    def simulated_label(self) -> str:
        """ "Simulated org (demo)" when it points at the demo's simulated org, otherwise ""."""
        from instances.salesforce import simulation  # the client imports models

        simulated = simulation.is_simulated(self.login_url, self.instance_url)
        return simulation.LABEL if simulated else ""

    @property
    def uses_soap_login(self) -> bool:
        """Password auth: SOAP login(), which Salesforce retires (docs/salesforce.md)."""
        return self.auth_method == AuthMethod.PASSWORD

    @property
    def soap_login_warning(self) -> str:
        from instances.salesforce import SOAP_LOGIN_RETIREMENT  # the client imports models

        return SOAP_LOGIN_RETIREMENT if self.uses_soap_login else ""

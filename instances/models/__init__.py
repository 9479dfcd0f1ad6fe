"""The environment strategy's data: instances and their hierarchy, org connections, promotions."""

from instances.models.hierarchy import (
    LOGIN_HOSTS,
    REQUIRED_FIELDS,
    REQUIRED_SECRETS,
    SECRET_FIELDS,
    AuthMethod,
    Instance,
    OrgConnection,
    OrgType,
    Purpose,
    validate_https_url,
)
from instances.models.promotion import (
    Approval,
    Decision,
    Direction,
    FeaturePresence,
    LogLevel,
    Promotion,
    PromotionFeature,
    PromotionLog,
    PromotionStatus,
    Step,
)

__all__ = [
    "LOGIN_HOSTS",
    "REQUIRED_FIELDS",
    "REQUIRED_SECRETS",
    "SECRET_FIELDS",
    "Approval",
    "AuthMethod",
    "Decision",
    "Direction",
    "FeaturePresence",
    "Instance",
    "LogLevel",
    "OrgConnection",
    "OrgType",
    "Promotion",
    "PromotionFeature",
    "PromotionLog",
    "PromotionStatus",
    "Purpose",
    "Step",
    "validate_https_url",
]

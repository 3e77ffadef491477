"""System checks of core's own settings (registered in core.apps)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def audit_chain_key_check(app_configs, **kwargs):
    """In production the audit chain's key must not be derivable from SECRET_KEY: the two are
    kept apart so that a leaked SECRET_KEY does not also let its holder re-key the chain."""
    if getattr(settings, "AUDIT_CHAIN_KEY", ""):
        return []
    return [
        Warning(
            "AUDIT_CHAIN_KEY is not set: the audit chain is keyed with a key derived from SECRET_KEY.",
            hint="Set AUDIT_CHAIN_KEY to a random value of at least 32 characters, kept apart from the "
            "database (docs/DEPLOY.md, 'The audit chain's key').",
            id="core.W001",
        )
    ]

"""microlib.security: authentication, authorization and secrets.

Optional integrations are imported from their modules, so their client
libraries stay optional: ``microlib.security.vault`` (hvac),
``microlib.security.aws`` (boto3); ``microlib.security.opa`` imports regopy
only when a Rego policy is built.
"""

from __future__ import annotations

from microlib.config.model import SecretsSettings, SecuritySettings
from microlib.security.authn import AuthenticationInterceptor
from microlib.security.authz import AuthorizationInterceptor, Authorizer, Decision, RequirementAuthorizer
from microlib.security.feature import SecurityFeature, install
from microlib.security.jwks import JwksKeySource
from microlib.security.jwt import Issuer, TokenVerifier
from microlib.security.keys import KeySource, StaticKeys, VerificationKey
from microlib.security.opa import OpaAuthorizer, OpaHttpPolicy, PolicyEngine, RegoPolicy
from microlib.security.references import resolve_reference
from microlib.security.requirements import (
    SECURITY_ATTRIBUTE,
    RequirementResolver,
    SecurityRequirement,
    from_descriptor_set,
    from_method_options,
    from_openapi_document,
    from_openapi_operation,
)
from microlib.security.secrets import EnvSecretStore, FileSecretStore, Secrets, SecretStore
from microlib.security.setup import Security

__all__ = [
    "SECURITY_ATTRIBUTE",
    "AuthenticationInterceptor",
    "AuthorizationInterceptor",
    "Authorizer",
    "Decision",
    "EnvSecretStore",
    "FileSecretStore",
    "Issuer",
    "JwksKeySource",
    "KeySource",
    "OpaAuthorizer",
    "OpaHttpPolicy",
    "PolicyEngine",
    "RegoPolicy",
    "RequirementAuthorizer",
    "RequirementResolver",
    "SecretStore",
    "Secrets",
    "SecretsSettings",
    "Security",
    "SecurityFeature",
    "SecurityRequirement",
    "SecuritySettings",
    "StaticKeys",
    "TokenVerifier",
    "VerificationKey",
    "from_descriptor_set",
    "from_method_options",
    "from_openapi_document",
    "from_openapi_operation",
    "install",
    "resolve_reference",
]

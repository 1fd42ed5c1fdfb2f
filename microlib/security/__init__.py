"""microlib.security: authentication, authorization and secrets.

Optional integrations are imported from their modules, so their client
libraries stay optional: ``microlib.security.vault`` (hvac),
``microlib.security.aws`` (boto3); ``microlib.security.opa`` imports regopy
only when a Rego policy is built.

The names are imported on first use (PEP 562): the transports import
``microlib.security.requirements`` for every contract that declares access
rules, and that must not pull in PyJWT, cryptography or httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from microlib.core._lazy import lazy_exports

if TYPE_CHECKING:
    from microlib.config.model import PropagationSettings, SecretsSettings, SecuritySettings
    from microlib.security.auth_option import AuthOption, auth_rules, effective_auth
    from microlib.security.authn import AuthenticationInterceptor
    from microlib.security.authz import AuthorizationInterceptor, Authorizer, Decision, RequirementAuthorizer
    from microlib.security.credentials import (
        ApiKeyVerifier,
        BasicVerifier,
        CredentialVerifier,
        RequestVerifier,
    )
    from microlib.security.enforcement import SecurityNotEnforced
    from microlib.security.feature import SecurityFeature, install
    from microlib.security.jwks import JwksKeySource
    from microlib.security.jwt import Issuer, TokenVerifier
    from microlib.security.keys import KeySource, StaticKeys, VerificationKey
    from microlib.security.opa import OpaAuthorizer, OpaHttpPolicy, PolicyEngine, RegoPolicy
    from microlib.security.principals import PRINCIPAL_HEADER, PrincipalSigner
    from microlib.security.references import resolve_reference
    from microlib.security.requirements import (
        SECURITY_ATTRIBUTE,
        RequirementResolver,
        SecurityRequirement,
        from_descriptor_set,
        from_method_options,
        from_openapi_document,
        from_openapi_operation,
        from_openapi_security,
    )
    from microlib.security.schemes import SecurityScheme
    from microlib.security.secrets import EnvSecretStore, FileSecretStore, Secrets, SecretStore
    from microlib.security.setup import Security

__all__ = [
    "PRINCIPAL_HEADER",
    "SECURITY_ATTRIBUTE",
    "ApiKeyVerifier",
    "AuthOption",
    "AuthenticationInterceptor",
    "AuthorizationInterceptor",
    "Authorizer",
    "BasicVerifier",
    "CredentialVerifier",
    "Decision",
    "EnvSecretStore",
    "FileSecretStore",
    "Issuer",
    "JwksKeySource",
    "KeySource",
    "OpaAuthorizer",
    "OpaHttpPolicy",
    "PolicyEngine",
    "PrincipalSigner",
    "PropagationSettings",
    "RegoPolicy",
    "RequestVerifier",
    "RequirementAuthorizer",
    "RequirementResolver",
    "SecretStore",
    "Secrets",
    "SecretsSettings",
    "Security",
    "SecurityFeature",
    "SecurityNotEnforced",
    "SecurityRequirement",
    "SecurityScheme",
    "SecuritySettings",
    "StaticKeys",
    "TokenVerifier",
    "VerificationKey",
    "auth_rules",
    "effective_auth",
    "from_descriptor_set",
    "from_method_options",
    "from_openapi_document",
    "from_openapi_operation",
    "from_openapi_security",
    "install",
    "resolve_reference",
]

# Each name is imported on first use: importing the package loads none of its modules.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ApiKeyVerifier": "microlib.security.credentials",
        "AuthOption": "microlib.security.auth_option",
        "auth_rules": "microlib.security.auth_option",
        "effective_auth": "microlib.security.auth_option",
        "AuthenticationInterceptor": "microlib.security.authn",
        "AuthorizationInterceptor": "microlib.security.authz",
        "Authorizer": "microlib.security.authz",
        "BasicVerifier": "microlib.security.credentials",
        "CredentialVerifier": "microlib.security.credentials",
        "Decision": "microlib.security.authz",
        "EnvSecretStore": "microlib.security.secrets",
        "FileSecretStore": "microlib.security.secrets",
        "Issuer": "microlib.security.jwt",
        "JwksKeySource": "microlib.security.jwks",
        "KeySource": "microlib.security.keys",
        "OpaAuthorizer": "microlib.security.opa",
        "OpaHttpPolicy": "microlib.security.opa",
        "PolicyEngine": "microlib.security.opa",
        "PRINCIPAL_HEADER": "microlib.security.principals",
        "PrincipalSigner": "microlib.security.principals",
        "PropagationSettings": "microlib.config.model",
        "RegoPolicy": "microlib.security.opa",
        "RequestVerifier": "microlib.security.credentials",
        "RequirementAuthorizer": "microlib.security.authz",
        "RequirementResolver": "microlib.security.requirements",
        "SECURITY_ATTRIBUTE": "microlib.security.requirements",
        "SecretStore": "microlib.security.secrets",
        "Secrets": "microlib.security.secrets",
        "SecretsSettings": "microlib.config.model",
        "Security": "microlib.security.setup",
        "SecurityFeature": "microlib.security.feature",
        "SecurityNotEnforced": "microlib.security.enforcement",
        "SecurityRequirement": "microlib.security.requirements",
        "SecurityScheme": "microlib.security.schemes",
        "SecuritySettings": "microlib.config.model",
        "StaticKeys": "microlib.security.keys",
        "TokenVerifier": "microlib.security.jwt",
        "VerificationKey": "microlib.security.keys",
        "from_descriptor_set": "microlib.security.requirements",
        "from_method_options": "microlib.security.requirements",
        "from_openapi_document": "microlib.security.requirements",
        "from_openapi_operation": "microlib.security.requirements",
        "from_openapi_security": "microlib.security.requirements",
        "install": "microlib.security.feature",
        "resolve_reference": "microlib.security.references",
    },
)

"""AWS Secrets Manager as a secret store (boto3), scheme ``aws``.

``aws:prod/app#db_password`` reads the JSON key ``db_password`` of the
secret named (or ARN) ``prod/app``; without ``#key`` the whole secret string.
"""

from __future__ import annotations

from typing import Any

from microlib.core.errors import InvalidArgument, NotFound, PermissionDenied, Unavailable
from microlib.security._secret_keys import select_key

__all__ = ["AwsSecretStore"]

_DENIED = frozenset({"AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException"})


class AwsSecretStore:
    """Reads Secrets Manager secrets (the ``AWSCURRENT`` version).

    Args:
        region: The AWS region; boto3's default chain when None.
        endpoint_url: Another endpoint (a VPC endpoint, or moto in tests).
        client: A ready ``secretsmanager`` client; one is created lazily if None.

    Raises:
        InvalidArgument: boto3 is not installed (``pip install 'microlib[aws]'``).
    """

    scheme = "aws"

    def __init__(
        self, *, region: str | None = None, endpoint_url: str | None = None, client: Any = None
    ) -> None:
        try:
            import boto3
        except ImportError:
            raise InvalidArgument("secrets.aws needs boto3: pip install 'microlib[aws]'") from None
        self._boto3 = boto3
        self._options = {"region_name": region, "endpoint_url": endpoint_url}
        self._client = client

    def read(self, name: str) -> str:
        """The secret's string (or one JSON key of it).

        Raises:
            NotFound: No such secret, or no such key.
            PermissionDenied: The credentials may not read it.
            Unavailable: Secrets Manager cannot be reached or failed.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        secret_id, _, key = name.partition("#")
        reference = f"aws:{secret_id}"
        try:
            if self._client is None:
                self._client = self._boto3.client("secretsmanager", **self._options)
            response = self._client.get_secret_value(SecretId=secret_id)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                raise NotFound(f"secret {reference}: no such secret") from None
            if code in _DENIED:
                raise PermissionDenied(f"secret {reference}: access denied ({code})") from None
            raise Unavailable(f"secret {reference}: Secrets Manager failed ({code})") from None
        except BotoCoreError as exc:
            raise Unavailable(f"secret {reference}: {type(exc).__name__}") from None
        text = response.get("SecretString")
        if text is None:
            text = bytes(response["SecretBinary"]).decode("utf-8")
        return select_key(text, key or None, reference=reference)

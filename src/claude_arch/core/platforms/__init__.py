"""Claude on the cloud platforms: Amazon Bedrock and Google Vertex AI as transports.

Each platform transport takes the client's Messages API requests and speaks the platform's API
instead, so retries, limits, fallbacks, metering and cost stay the core's: the client needs no
other change.

    from claude_arch.core.platforms import BedrockTransport, VertexTransport

    bedrock = BedrockTransport(region="us-east-1")                 # AWS credential chain
    vertex = VertexTransport(project="my-project", region="global")  # Application Default Creds

Importing this package loads no AWS or Google library: botocore is imported only to read AWS
credentials the environment does not hold, google-auth only for Application Default Credentials.
The pieces (:mod:`.eventstream`, :mod:`.sigv4`, :mod:`.model_ids`, :mod:`.platform_errors`) are
the emulator's too.
"""

from __future__ import annotations

from claude_arch.core.platforms.aws_credentials import (
    AwsCredentialChain,
    AwsCredentialSource,
    StaticAwsCredentials,
)
from claude_arch.core.platforms.bedrock import BEDROCK_VERSION, BedrockTransport
from claude_arch.core.platforms.google_credentials import (
    AdcTokenSource,
    GoogleTokenSource,
    StaticToken,
)
from claude_arch.core.platforms.model_ids import PlatformModels
from claude_arch.core.platforms.sigv4 import AwsCredentials
from claude_arch.core.platforms.vertex import VERTEX_VERSION, VertexTransport

__all__ = [
    "BEDROCK_VERSION",
    "VERTEX_VERSION",
    "AdcTokenSource",
    "AwsCredentialChain",
    "AwsCredentialSource",
    "AwsCredentials",
    "BedrockTransport",
    "GoogleTokenSource",
    "PlatformModels",
    "StaticAwsCredentials",
    "StaticToken",
    "VertexTransport",
]

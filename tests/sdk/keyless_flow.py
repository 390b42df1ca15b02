#!/usr/bin/env python3
"""Reads one desktop job through the official Huawei Cloud Python SDK with
the SDK's own keyless credentials, in either of its two modes:

- `--mode idp`: EnvCredentialProvider reads HUAWEICLOUD_SDK_IDP_ID,
  HUAWEICLOUD_SDK_ID_TOKEN_FILE and HUAWEICLOUD_SDK_PROJECT_ID, and its
  FederalAccessor exchanges the ID token at HUAWEICLOUD_SDK_IAM_ENDPOINT;
- `--mode sts`: OidcStsCredentialProvider reads HUAWEICLOUD_OIDC_PROVIDER_URN,
  HUAWEICLOUD_OIDC_AGENCY_URN, HUAWEICLOUD_OIDC_TOKEN_FILE and
  HUAWEICLOUD_SDK_PROJECT_ID, and its OidcStsAccessor calls
  AssumeAgencyWithOIDC at HUAWEICLOUD_SDK_STS_ENDPOINT;

each for temporary AK/SK before signing the call.

Usage: keyless_flow.py --mode idp|sts --endpoint http://127.0.0.1:PORT --job-id ID
Prints "status STATUS" and exits non-zero on any failure.
"""

import argparse

from huaweicloudsdkcore.auth.provider import EnvCredentialProvider, OidcStsCredentialProvider
from huaweicloudsdkcore.http.http_config import HttpConfig
import huaweicloudsdkworkspace.v2 as ws


def credentials(mode):
    if mode == "idp":
        return EnvCredentialProvider.get_basic_credential_env_provider().get_credentials()
    return OidcStsCredentialProvider.get_basic().get_credentials()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", required=True, choices=["idp", "sts"])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--job-id", required=True)
    args = parser.parse_args()
    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True  # plain http on loopback; nothing to verify
    client = (
        ws.WorkspaceClient.new_builder()
        .with_http_config(config)
        .with_credentials(credentials(args.mode))
        .with_endpoints([args.endpoint])
        .build()
    )
    job = client.show_job(ws.ShowJobRequest(job_id=args.job_id))
    print(f"status {job.status}")


if __name__ == "__main__":
    main()

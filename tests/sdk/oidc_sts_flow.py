#!/usr/bin/env python3
"""Reads one desktop job through the official Huawei Cloud Python SDK with
the SDK's STS keyless credentials: OidcStsCredentialProvider reads
HUAWEICLOUD_OIDC_PROVIDER_URN, HUAWEICLOUD_OIDC_AGENCY_URN,
HUAWEICLOUD_OIDC_TOKEN_FILE and HUAWEICLOUD_SDK_PROJECT_ID, and its
OidcStsAccessor calls AssumeAgencyWithOIDC at HUAWEICLOUD_SDK_STS_ENDPOINT for
temporary AK/SK before signing the call.

Usage: oidc_sts_flow.py --endpoint http://127.0.0.1:PORT --job-id ID
Prints "status STATUS" and exits non-zero on any failure.
"""

import argparse

from huaweicloudsdkcore.auth.provider import OidcStsCredentialProvider
from huaweicloudsdkcore.http.http_config import HttpConfig
import huaweicloudsdkworkspace.v2 as ws


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--job-id", required=True)
    args = parser.parse_args()
    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True  # plain http on loopback; nothing to verify
    credentials = OidcStsCredentialProvider.get_basic().get_credentials()
    client = (
        ws.WorkspaceClient.new_builder()
        .with_http_config(config)
        .with_credentials(credentials)
        .with_endpoints([args.endpoint])
        .build()
    )
    job = client.show_job(ws.ShowJobRequest(job_id=args.job_id))
    print(f"status {job.status}")


if __name__ == "__main__":
    main()

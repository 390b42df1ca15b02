#!/usr/bin/env python3
"""A baseline waiter: the official Huawei Cloud Python SDK in a plain loop
that polls each job's own status at a fixed interval, the way KooCLI scripts
(5 s) and the Terraform provider (15 s) wait.

Usage: sdk_waiter.py --endpoint URL --project-id P --ak AK --sk SK
           --interval SECONDS --kind image|app|desktop JOB_ID...

Prints `DONE <job id> <status> <unix time>` when it first sees a job in a
final state, exits 0 when every job ended in SUCCESS, 1 otherwise.
"""

import argparse
import sys
import time

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
import huaweicloudsdkworkspace.v2 as ws
import huaweicloudsdkworkspaceapp.v1 as app

PENDING = {"WAITING", "RUNNING", "ROLLBACK", "ABORTING"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--project-id", required=True)
    parser.add_argument("--ak", required=True)
    parser.add_argument("--sk", required=True)
    parser.add_argument("--interval", type=float, required=True)
    parser.add_argument("--kind", choices=["image", "app", "desktop"], required=True)
    parser.add_argument("jobs", nargs="+")
    args = parser.parse_args()

    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True  # plain http on loopback
    config.timeout = (5, 30)
    credentials = BasicCredentials(args.ak, args.sk, args.project_id)
    if args.kind in ("image", "app"):
        client = (
            app.WorkspaceAppClient.new_builder()
            .with_http_config(config)
            .with_credentials(credentials)
            .with_endpoints([args.endpoint])
            .build()
        )

        if args.kind == "image":
            def status(job_id):
                return client.show_image_job(app.ShowImageJobRequest(job_id=job_id)).status
        else:
            def status(job_id):
                return client.show_job_detail(app.ShowJobDetailRequest(job_id=job_id)).status
    else:
        client = (
            ws.WorkspaceClient.new_builder()
            .with_http_config(config)
            .with_credentials(credentials)
            .with_endpoints([args.endpoint])
            .build()
        )

        def status(job_id):
            return client.show_job(ws.ShowJobRequest(job_id=job_id)).status

    final = {}
    while True:
        for job_id in args.jobs:
            if job_id in final:
                continue
            current = status(job_id)
            if current not in PENDING:
                final[job_id] = current
                print(f"DONE {job_id} {current} {time.time():.3f}", flush=True)
        if len(final) == len(args.jobs):
            break
        time.sleep(args.interval)
    sys.exit(0 if all(s == "SUCCESS" for s in final.values()) else 1)


if __name__ == "__main__":
    main()

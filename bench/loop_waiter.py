#!/usr/bin/env python3
"""A fixed-interval waiter: the loop a user writes around one status call.

Two clients, the same loop:

- `--client sdk`: the official Huawei Cloud Python SDK (AK/SK signing), the
  way KooCLI scripts (5 s) and the Terraform provider (15 s) wait;
- `--client http`: a minimal stdlib loop (`urllib`, `X-Auth-Token`), the
  cheapest a fixed interval can be, for the fixed-interval frontier.

Polls each unfinished job's own status at fixed ticks (`t0 + k * interval`,
sleeping until the next tick), so a request's own time does not stretch the
interval: under a time-compressed simulator a request's time is not
compressed, and a sleep after it would skew the loop towards fewer requests.
An answer that is not a status (429, 5xx, a broken body, a reset) is
printed and retried at the next tick, as a script with a try/except would.

Protocol with the harness, so the SDK's import time (about a second) is not
counted against its first poll: the script imports everything, prints
`READY`, then reads the endpoint URL from standard input and starts at once.

Prints `DONE <job id> <status> <unix time>` when it first sees a job final,
`ERR <job id> <what>` per failed call; exits 0 when every job ended in
SUCCESS, 1 when one did not, 3 at `--timeout`.
"""

import argparse
import json
import sys
import time
import urllib.error
import urllib.request

PENDING = {"WAITING", "RUNNING", "ROLLBACK", "ABORTING"}


def sdk_status(kind, project_id, ak, sk, endpoint):
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.http.http_config import HttpConfig
    import huaweicloudsdkworkspace.v2 as ws
    import huaweicloudsdkworkspaceapp.v1 as app

    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True  # plain http on loopback
    config.timeout = (5, 30)
    credentials = BasicCredentials(ak, sk, project_id)
    module, builder = (app, app.WorkspaceAppClient) if kind in ("image", "app") else (ws, ws.WorkspaceClient)
    client = (builder.new_builder().with_http_config(config).with_credentials(credentials)
              .with_endpoints([endpoint]).build())
    if kind == "image":
        return lambda job: client.show_image_job(module.ShowImageJobRequest(job_id=job)).status
    if kind == "app":
        return lambda job: client.show_job_detail(module.ShowJobDetailRequest(job_id=job)).status
    return lambda job: client.show_job(module.ShowJobRequest(job_id=job)).status


def http_status(kind, project_id, token, endpoint):
    path = {"image": f"v1/{project_id}/image-server-jobs",
            "app": f"v2/{project_id}/job",
            "desktop": f"v2/{project_id}/workspace-jobs"}[kind]

    def status(job):
        request = urllib.request.Request(f"{endpoint}/{path}/{job}", headers={"X-Auth-Token": token})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)["status"]

    return status


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--client", choices=["sdk", "http"], required=True)
    parser.add_argument("--project-id", required=True)
    parser.add_argument("--ak")
    parser.add_argument("--sk")
    parser.add_argument("--token")
    parser.add_argument("--interval", type=float, required=True)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--kind", choices=["image", "app", "desktop"], required=True)
    parser.add_argument("jobs", nargs="+")
    args = parser.parse_args()

    if args.client == "sdk":
        # Imported before READY; the client is built once the URL is known.
        import huaweicloudsdkworkspace.v2  # noqa: F401
        import huaweicloudsdkworkspaceapp.v1  # noqa: F401
    print("READY", flush=True)
    endpoint = sys.stdin.readline().strip()
    start = time.time()
    if args.client == "sdk":
        status = sdk_status(args.kind, args.project_id, args.ak, args.sk, endpoint)
    else:
        status = http_status(args.kind, args.project_id, args.token, endpoint)

    final = {}
    tick = 0
    while True:
        for job in args.jobs:
            if job in final:
                continue
            try:
                current = status(job)
            except urllib.error.HTTPError as error:
                print(f"ERR {job} http-{error.code}", flush=True)
                continue
            except Exception as error:  # the SDK's exceptions, resets, bad bodies
                code = getattr(error, "status_code", None)
                print(f"ERR {job} {code or type(error).__name__}", flush=True)
                continue
            if current not in PENDING:
                final[job] = current
                print(f"DONE {job} {current} {time.time():.4f}", flush=True)
        if len(final) == len(args.jobs):
            break
        now = time.time()
        if now - start > args.timeout:
            sys.exit(3)
        tick = max(tick + 1, int((now - start) / args.interval) + 1)
        time.sleep(max(0.0, start + tick * args.interval - now))
    sys.exit(0 if all(s == "SUCCESS" for s in final.values()) else 1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Calls every job endpoint the jobgate simulator serves through the official
Huawei Cloud Python SDK clients and checks that each response deserializes
into the SDK's models with the expected fields populated.

Requires: huaweicloudsdkcore, huaweicloudsdkworkspace and
huaweicloudsdkworkspaceapp (3.1.219).

Usage: call_every_endpoint.py --endpoint http://127.0.0.1:PORT
           --project-id P --ak AK --sk SK [--operations JSON]

With --operations (jobgate's table of operations as a JSON list of
{sdk_name, service, method, path, page: [min, max, default] or null}), first
checks every row against the SDK's own: the client of that service has the
operation, with that method and path template, and a list's documented
`limit` range and default are the row's.

The scenario served must contain (all finished, at offset 0):
an image job with a CREATE_SERVER sub-job and a FAILED sub-job carrying an
error, an app-server job with a FAILED sub-job carrying an error, and a
desktop job with a finished sub-job whose resource has every desktop field.
Prints one line per call and exits non-zero on the first mismatch.
"""

import argparse
import datetime
import inspect
import json
import re
import sys
import warnings

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.warning.warning import TypeConversionWarning
import huaweicloudsdkworkspace.v2 as ws
import huaweicloudsdkworkspaceapp.v1 as app

# A value the SDK cannot convert to its declared type (an unknown enum value, a
# time stamp it cannot parse) only warns; here it must fail.
warnings.simplefilter("error", TypeConversionWarning)

APPSTREAM_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$")
WORKSPACE_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


class Mismatch(Exception):
    pass


def expect(condition, what):
    if not condition:
        raise Mismatch(what)


def expect_time(value, pattern, what):
    # The SDK parses appstream times into datetime when python-dateutil is
    # installed and keeps the text otherwise; workspace times are plain strings.
    if isinstance(value, datetime.datetime):
        return
    expect(isinstance(value, str) and pattern.match(value), f"{what}: bad time stamp {value!r}")


def expect_filled(obj, fields, what):
    for field in fields:
        expect(getattr(obj, field) not in (None, ""), f"{what}.{field} is empty")


def check_image_sub_job(sub, what):
    expect_filled(sub, ["id", "job_type", "status", "project_id", "job_id"], what)
    expect_filled(sub.job_resource_info, ["resource_id"], what + ".job_resource_info")
    expect(sub.job_execute_info is not None, what + ".job_execute_info missing")
    expect_time(sub.begin_time, APPSTREAM_TIME, what + ".begin_time")
    expect_time(sub.end_time, APPSTREAM_TIME, what + ".end_time")


def check_app_sub_job(sub, what):
    expect_filled(sub, ["id", "job_type", "status", "project_id", "job_id"], what)
    expect_filled(sub.job_resource_info, ["resource_id"], what + ".job_resource_info")
    expect_time(sub.begin_time, APPSTREAM_TIME, what + ".begin_time")
    expect_time(sub.end_time, APPSTREAM_TIME, what + ".end_time")


def check_desktop_sub_job(sub, what):
    expect_filled(sub, ["id", "job_type", "status", "project_id", "job_id"], what)
    expect(isinstance(sub.process, int), what + ".process is not an integer")
    expect(sub.entities is not None, what + ".entities missing")
    expect_filled(sub.entities, ["desktop_id"], what + ".entities")
    expect_time(sub.begin_time, WORKSPACE_TIME, what + ".begin_time")
    expect_time(sub.end_time, WORKSPACE_TIME, what + ".end_time")


# The SDKs document a list's `limit` in Chinese: "值区间[1-100]，默认值10" or
# "取值范围0~1000，默认1000".
LIMIT_DOC = re.compile(r":param limit:[^\n]*?(\d+)\s*[-~]\s*(\d+)\]?，默认值?(\d+)")


def check_operations(table):
    """Every row of jobgate's table is an operation of the SDK, as the SDK has it."""
    clients = {"appstream": (app, app.WorkspaceAppClient), "workspace": (ws, ws.WorkspaceClient)}
    for row in table:
        name = row["sdk_name"]
        expect(row["service"] in clients, f"{name}: unknown service {row['service']!r}")
        module, client = clients[row["service"]]
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
        http_info = getattr(client, f"_{snake}_http_info", None)
        request = getattr(module, f"{name}Request", None)
        expect(http_info and request, f"{name}: no such operation on the {row['service']} client")
        info = http_info(request())
        expect(info["method"] == row["method"], f"{name}: method {info['method']}, table {row['method']}")
        expect(
            info["resource_path"] == row["path"],
            f"{name}: path {info['resource_path']}, table {row['path']}",
        )
        limit = LIMIT_DOC.search(inspect.getdoc(request.__init__) or "")
        documented = [int(n) for n in limit.groups()] if limit else None
        expect(documented == row["page"], f"{name}: limit {documented}, table {row['page']}")
    print(f"ok the table's {len(table)} operations are the SDK's")
    return len(table)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--project-id", required=True)
    parser.add_argument("--ak", required=True)
    parser.add_argument("--sk", required=True)
    parser.add_argument("--operations")
    args = parser.parse_args()

    if args.operations is not None:
        expect(check_operations(json.loads(args.operations)) == 9, "the table has 9 operations")

    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True  # plain http on loopback; nothing to verify
    config.timeout = (5, 10)
    credentials = BasicCredentials(args.ak, args.sk, args.project_id)

    appstream = (
        app.WorkspaceAppClient.new_builder()
        .with_http_config(config)
        .with_credentials(credentials)
        .with_endpoints([args.endpoint])
        .build()
    )
    workspace = (
        ws.WorkspaceClient.new_builder()
        .with_http_config(config)
        .with_credentials(credentials)
        .with_endpoints([args.endpoint])
        .build()
    )

    calls = 0

    def done(name, detail):
        nonlocal calls
        calls += 1
        print(f"ok {name}: {detail}")

    # Application Streaming: image servers.
    jobs = appstream.list_image_jobs(app.ListImageJobsRequest(limit=100))
    expect(jobs.count and jobs.count >= 1, "ListImageJobs: no jobs")
    expect(len(jobs.items) == jobs.count, "ListImageJobs: items do not match count")
    for job in jobs.items:
        expect_filled(job, ["id", "job_type", "status"], "ListImageJobs.items[]")
        expect(isinstance(job.sub_jobs_total, int), "ListImageJobs: sub_jobs_total")
        expect_time(job.begin_time, APPSTREAM_TIME, "ListImageJobs.begin_time")
    done("ListImageJobs", f"count={jobs.count}")

    image_job_id = jobs.items[0].id
    job = appstream.show_image_job(app.ShowImageJobRequest(job_id=image_job_id))
    expect_filled(job, ["id", "job_type", "status"], "ShowImageJob")
    expect(job.sub_jobs_total == len(job.sub_jobs) and job.sub_jobs, "ShowImageJob: sub_jobs")
    for sub in job.sub_jobs:
        check_image_sub_job(sub, "ShowImageJob.sub_jobs[]")
    failed = [sub for sub in job.sub_jobs if sub.status == "FAILED"]
    expect(failed, "ShowImageJob: no FAILED sub-job")
    expect_filled(failed[0].job_execute_info, ["error_code", "error_message"], "ShowImageJob failed sub-job")
    done("ShowImageJob", f"{job.id} {job.status} with {job.sub_jobs_total} sub-jobs")

    subs = appstream.list_image_sub_jobs(
        app.ListImageSubJobsRequest(job_type="CREATE_SERVER", job_id=image_job_id, limit=100)
    )
    expect(subs.count >= 1 and len(subs.items) == subs.count, "ListImageSubJobs: count/items")
    for sub in subs.items:
        check_image_sub_job(sub, "ListImageSubJobs.items[]")
        expect(sub.job_type == "CREATE_SERVER", "ListImageSubJobs: job_type filter")
    done("ListImageSubJobs", f"count={subs.count}")

    count = appstream.count_image_sub_jobs(
        app.CountImageSubJobsRequest(job_type="CREATE_SERVER,CREATE_SERVER_IMAGE,DELETE_SERVER")
    )
    expect(isinstance(count.count, int) and count.count >= 1, "CountImageSubJobs: count")
    done("CountImageSubJobs", f"count={count.count}")

    # Application Streaming: app servers.
    subs = appstream.list_sub_jobs(app.ListSubJobsRequest(limit=100))
    expect(subs.count >= 1 and subs.items, "ListSubJobs: no sub-jobs")
    for sub in subs.items:
        check_app_sub_job(sub, "ListSubJobs.items[]")
    failed = [sub for sub in subs.items if sub.status == "FAILED"]
    expect(failed, "ListSubJobs: no FAILED sub-job")
    expect_filled(failed[0], ["error_code", "error_message"], "ListSubJobs failed sub-job")
    done("ListSubJobs", f"count={subs.count}")

    count = appstream.count_sub_jobs(app.CountSubJobsRequest(status="FAILED"))
    expect(count.count == len(failed), "CountSubJobs: count of FAILED")
    done("CountSubJobs", f"count={count.count}")

    app_job_id = subs.items[0].job_id
    job = appstream.show_job_detail(app.ShowJobDetailRequest(job_id=app_job_id))
    expect_filled(job, ["id", "job_type", "status"], "ShowJobDetail")
    expect(job.sub_jobs_total == len(job.sub_jobs) and job.sub_jobs, "ShowJobDetail: sub_jobs")
    for sub in job.sub_jobs:
        check_app_sub_job(sub, "ShowJobDetail.sub_jobs[]")
    done("ShowJobDetail", f"{job.id} {job.status}")

    # Workspace: cloud desktops.
    subs = workspace.list_ita_sub_jobs(ws.ListItaSubJobsRequest(limit=1000))
    expect(subs.total_count >= 1 and subs.jobs, "ListItaSubJobs: no sub-jobs")
    for sub in subs.jobs:
        check_desktop_sub_job(sub, "ListItaSubJobs.jobs[]")
    complete = [sub for sub in subs.jobs if sub.entities.user_name]
    expect(complete, "ListItaSubJobs: no sub-job with full entities")
    expect_filled(
        complete[0].entities,
        ["desktop_id", "product_id", "user_name", "desktop_name", "ip_address"],
        "ListItaSubJobs.entities",
    )
    done("ListItaSubJobs", f"total_count={subs.total_count}")

    desktop_job_id = subs.jobs[0].job_id
    job = workspace.show_job(ws.ShowJobRequest(job_id=desktop_job_id))
    expect_filled(job, ["id", "job_type", "status"], "ShowJob")
    expect_time(job.begin_time, WORKSPACE_TIME, "ShowJob.begin_time")
    expect(job.sub_jobs_total == len(job.sub_jobs) and job.sub_jobs, "ShowJob: sub_jobs")
    for sub in job.sub_jobs:
        check_desktop_sub_job(sub, "ShowJob.sub_jobs[]")
    done("ShowJob", f"{job.id} {job.status}")

    expect(calls == 9, f"expected 9 calls, made {calls}")
    print(f"all {calls} endpoints answered as the SDK expects")


if __name__ == "__main__":
    try:
        main()
    except Mismatch as mismatch:
        print(f"MISMATCH: {mismatch}", file=sys.stderr)
        sys.exit(1)

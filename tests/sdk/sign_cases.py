"""Signs a spread of requests with the official Huawei Cloud SDK signer.

Prints a JSON array of cases: the request as jobgate's signer sees it
(unencoded path and query pairs, every header that was signed or sent) and
what the SDK produced (the Authorization value and the query string it puts
on the URL). tests/it/official_sdk_signer.rs compares jobgate against these.

Requires the packages in requirements.txt next to this file.
"""

import json
import sys
from urllib.parse import quote

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest

P = "0123456789abcdef0123456789abcdef"
WS = ("AKTESTEXAMPLE000001", "SKtestexample0000000000000000000000000001")
WS_HEADERS = {"Content-Type": "application/json", "X-Sdk-Date": "20240102T030405Z"}
WORKSPACE = "workspace.cn-north-4.myhuaweicloud.com"
APPSTREAM = "appstream.cn-north-4.myhuaweicloud.com"


def case(name, host, path, query=(), headers=None, method="GET", body="",
         keys=WS, project_id=P, security_token=None):
    """One request, described the way the SDK's client builds it."""
    return dict(name=name, host=host, path=path, query=list(query),
                headers=dict(WS_HEADERS if headers is None else headers),
                method=method, body=body, keys=keys, project_id=project_id,
                security_token=security_token)


CASES = [
    case("v1 published guide", "service.region.example.com",
         "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs",
         [("limit", "2"), ("marker", "13551d6b-755d-4757-b956-536f674975c0")],
         {"Content-Type": "application/json", "Host": "service.region.example.com",
          "X-Sdk-Date": "20191115T033655Z"},
         keys=("QTWAOYTTINDUT2QVKYUC", "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"),
         project_id=None),
    case("v4 get with underscore header", "service.endpoint.myhuaweicloud.com", "/resources",
         [("size", "1")], {"X-Sdk-Date": "20200608T023900Z", "TEST_UNDERSCORE": "x"},
         keys=("AccessKey", "SecretKey"), project_id=None),
    case("v4 post with json body", "service.endpoint.myhuaweicloud.com", "/resources",
         [("size", "1")], {"X-Sdk-Date": "20200608T023900Z", "TEST_UNDERSCORE": "x"},
         method="POST", body='{"name":"test","id":1}',
         keys=("AccessKey", "SecretKey"), project_id=None),
    case("v6 repeated status", WORKSPACE, f"/v2/{P}/workspace-sub-jobs",
         [("status", "RUNNING"), ("status", "FAILED"), ("job_type", "createDesktops")]),
    case("v7 comma list and security token", WORKSPACE,
         f"/v1/{P}/app-server-sub-jobs/actions/count",
         [("job_type", "CREATE_SERVER,DELETE_SERVER"), ("status", "RUNNING")],
         security_token="tok/en+with=chars"),
    case("v8 no query", APPSTREAM,
         f"/v1/{P}/image-server-jobs/2c9eb2a5-7f1a-4d2b-9a0c-0123456789ab"),
    case("v9 paged sub-jobs", APPSTREAM, f"/v1/{P}/image-server-sub-jobs",
         [("job_type", "CREATE_SERVER_IMAGE"), ("limit", "100"), ("offset", "0"),
          ("job_id", "2c9eb2a5-7f1a-4d2b-9a0c-0123456789ab")]),
    case("special characters in a path segment", APPSTREAM,
         f"/v1/{P}/image-server-jobs/a b~c(d)!*'é+50%off,x=y"),
    case("trailing slash kept once", WORKSPACE, f"/v2/{P}/workspace-jobs/"),
    case("unicode, spaces and reserved characters in query values", WORKSPACE,
         f"/v2/{P}/workspace-sub-jobs",
         [("desktop_name", "桌面 01"), ("q", "a+b&c=d/e?f#g"), ("tilde", "~x~")]),
    case("empty query value", WORKSPACE, f"/v2/{P}/workspace-sub-jobs",
         [("job_id", ""), ("status", "RUNNING")]),
    case("query keys needing encoding and case-sensitive order", WORKSPACE,
         f"/v2/{P}/workspace-sub-jobs",
         [("a b", "1"), ("Z", "2"), ("a", "3"), ("_x", "4"), ("a", "")]),
    case("multi-valued query as the SDK client passes it", APPSTREAM,
         f"/v1/{P}/image-server-sub-jobs/actions/count",
         [("job_type", ["DELETE_SERVER", "CREATE_SERVER", "BUILD_IMAGE"]), ("status", "RUNNING")]),
    case("non-default port on loopback", "127.0.0.1:8080",
         f"/v1/{P}/image-server-sub-jobs", [("job_id", "j-1")],
         security_token="sts-token-value"),
    case("ipv6 loopback with port", "[::1]:9000", f"/v2/{P}/job/abc"),
    case("header names in any case, values trimmed", WORKSPACE, f"/v2/{P}/workspace-jobs/j",
         headers={"content-type": "application/json", "X-SDK-DATE": "20240102T030405Z",
                  "X-Custom": "  spaced value  ", "x_ignored": "not signed"}),
    case("lower-case method", WORKSPACE, f"/v2/{P}/workspace-jobs/j", method="get"),
    case("non-json body is not hashed", WORKSPACE, f"/v2/{P}/upload",
         headers={"Content-Type": "text/plain", "X-Sdk-Date": "20240102T030405Z"},
         method="PUT", body="raw text body"),
    case("temporary credentials without project", APPSTREAM, f"/v2/{P}/job/x",
         project_id=None, security_token="a" * 64 + "/+=="),
]


def sign(c):
    ak, sk = c["keys"]
    credentials = BasicCredentials(ak, sk, c["project_id"])
    if c["security_token"] is not None:
        credentials = credentials.with_security_token(c["security_token"])
    # The SDK client quotes path parameters into the resource path; the
    # signer unquotes it again before building the canonical URI.
    resource_path = "/".join(quote(segment, safe="") for segment in c["path"].split("/"))
    request = SdkRequest(method=c["method"], schema="https", host=c["host"],
                         resource_path=resource_path, query_params=list(c["query"]),
                         header_params=dict(c["headers"]), body=c["body"])
    request = credentials.sign_request(request)
    headers = dict(request.header_params)
    authorization = headers.pop("Authorization")
    pairs = []
    for key, value in c["query"]:
        for v in value if isinstance(value, list) else [value]:
            pairs.append([key, v])
    uri = request.uri
    return {
        "name": c["name"],
        "method": c["method"],
        "path": c["path"],
        "query": pairs,
        "headers": [[k, v] for k, v in headers.items()],
        "body": c["body"],
        "access_key": ak,
        "secret_key": sk,
        "authorization": authorization,
        "sent_query": uri.split("?", 1)[1] if "?" in uri else "",
    }


if __name__ == "__main__":
    json.dump([sign(c) for c in CASES], sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")

"""Signs requests with botocore (the AWS SDK for Python's signer) and sends
them to an Archway node, for the IAM end-to-end tests.

Reads a JSON job on stdin:
  {"node": "127.0.0.1:PORT", "host": "API.execute-api.localhost:PORT",
   "region": "us-east-1",
   "requests": [{"method": "GET", "path": "/prod/pets?a=1", "body": "",
                 "access_key": "AKIA...", "secret": "...", "token": null,
                 "presign": false, "expires": 300,
                 "unsigned_payload": false, "tamper_body": null,
                 "delay_seconds": 0}]}
and prints a JSON list of {"status": int, "body": str} in the same order.
"""

import http.client
import json
import sys
import time

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def send(job, spec):
    host = job["host"]
    url = f"http://{host}{spec['path']}"
    body = spec.get("body") or ""
    headers = {"content-type": "application/json"} if body else {}
    if spec.get("unsigned_payload"):
        headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
    request = AWSRequest(method=spec["method"], url=url, data=body.encode(), headers=headers)
    credentials = Credentials(spec["access_key"], spec["secret"], spec.get("token"))
    if spec.get("presign"):
        SigV4QueryAuth(credentials, "execute-api", job["region"], expires=spec.get("expires", 300)).add_auth(request)
    else:
        SigV4Auth(credentials, "execute-api", job["region"]).add_auth(request)
    prepared = request.prepare()
    sent_body = prepared.body or b""
    if spec.get("tamper_body") is not None:
        sent_body = spec["tamper_body"].encode()
    path = prepared.url.split(host, 1)[1]
    out_headers = {k: v for k, v in prepared.headers.items()}
    out_headers["Host"] = host
    if sent_body:
        out_headers["Content-Length"] = str(len(sent_body))
    # Lets a test send a presigned URL after it expired.
    time.sleep(spec.get("delay_seconds", 0))
    node_host, node_port = job["node"].rsplit(":", 1)
    conn = http.client.HTTPConnection(node_host, int(node_port), timeout=10)
    conn.request(spec["method"], path, body=sent_body or None, headers=out_headers)
    response = conn.getresponse()
    result = {"status": response.status, "body": response.read().decode("utf-8", "replace")}
    conn.close()
    return result


def main():
    job = json.load(sys.stdin)
    print(json.dumps([send(job, spec) for spec in job["requests"]]))


if __name__ == "__main__":
    main()

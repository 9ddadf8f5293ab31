"""A local stand-in for CloudFormation's DescribeStacks, for boto3 pointed at it.

Answers in the service's own query-protocol XML so the real botocore client parses it;
``AWS_ENDPOINT_URL_CLOUDFORMATION`` points boto3 here.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

_NS = "http://cloudformation.amazonaws.com/doc/2010-05-15/"


def _members(pairs: Mapping[str, str], key: str, value: str) -> str:
    return "".join(
        f"<member><{key}>{escape(k)}</{key}><{value}>{escape(v)}</{value}></member>"
        for k, v in pairs.items()
    )


def describe_stacks_xml(
    name: str, outputs: Mapping[str, str], parameters: Mapping[str, str]
) -> str:
    return (
        f'<DescribeStacksResponse xmlns="{_NS}"><DescribeStacksResult><Stacks><member>'
        f"<StackName>{escape(name)}</StackName>"
        f"<StackId>arn:aws:cloudformation:us-east-1:000000000000:stack/{escape(name)}/1</StackId>"
        "<CreationTime>2025-01-01T00:00:00Z</CreationTime>"
        "<StackStatus>CREATE_COMPLETE</StackStatus>"
        f"<Parameters>{_members(parameters, 'ParameterKey', 'ParameterValue')}</Parameters>"
        f"<Outputs>{_members(outputs, 'OutputKey', 'OutputValue')}</Outputs>"
        "</member></Stacks></DescribeStacksResult>"
        "<ResponseMetadata><RequestId>stand-in</RequestId></ResponseMetadata>"
        "</DescribeStacksResponse>"
    )


def _not_found_xml(name: str) -> str:
    return (
        f'<ErrorResponse xmlns="{_NS}"><Error><Type>Sender</Type><Code>ValidationError</Code>'
        f"<Message>Stack with id {escape(name)} does not exist</Message></Error>"
        "<RequestId>stand-in</RequestId></ErrorResponse>"
    )


@contextmanager
def cloudformation_stand_in(
    stack_name: str, outputs: Mapping[str, str], parameters: Mapping[str, str]
) -> Iterator[str]:
    """Serves one stack; yields the endpoint URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = urllib.parse.parse_qs(self.rfile.read(length).decode())
            asked = form.get("StackName", [""])[0]
            if form.get("Action") == ["DescribeStacks"] and asked == stack_name:
                status, body = 200, describe_stacks_xml(stack_name, outputs, parameters)
            else:
                status, body = 400, _not_found_xml(asked)
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # quiet test output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

"""REST API front rules without sockets: routing, payload 1.0, proxy results, template reading."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from streamlab.emulator.payload import HttpRequest, IamCaller, RequestIds
from streamlab.emulator.prelude import PreludeReader, ResultError, rest_prelude
from streamlab.emulator.rest_api import map_proxy_result
from streamlab.emulator.rest_payload import RestTarget, build_rest_event
from streamlab.emulator.rest_spec import RestApi, RestRoute
from streamlab.emulator.rest_template import load_rest_apis

FIXTURE = Path(__file__).parents[1] / "fixtures" / "rest_app" / "template.yaml"


def api(*routes: RestRoute, binary: tuple[str, ...] = ()) -> RestApi:
    return RestApi(logical_id="Api", stage="dev", routes=routes, binary_media_types=binary)


def route(method: str, path: str, name: str = "Fn") -> RestRoute:
    return RestRoute(function_name=name, method=method, path=path)


def segments(path: str) -> tuple[str, ...]:
    return tuple(part for part in path.split("/") if part)


ROUTES = api(
    route("GET", "/items/{id}", "param"),
    route("GET", "/items/special", "literal"),
    route("ANY", "/files/{proxy+}", "greedy"),
    route("GET", "/files/{proxy+}", "greedy-get"),
    route("ANY", "/{proxy+}", "root-greedy"),
    route("GET", "/", "root"),
)


@pytest.mark.parametrize(
    ("method", "path", "name", "params"),
    [
        ("GET", "/items/special", "literal", {}),
        ("GET", "/items/42", "param", {"id": "42"}),
        ("GET", "/items/a%20b", "param", {"id": "a b"}),
        ("GET", "/files/a/b/c.txt", "greedy-get", {"proxy": "a/b/c.txt"}),
        ("PUT", "/files/a/b", "greedy", {"proxy": "a/b"}),
        ("DELETE", "/other/thing", "root-greedy", {"proxy": "other/thing"}),
        ("GET", "/", "root", {}),
    ],
)
def test_route_precedence(method: str, path: str, name: str, params: dict[str, str]) -> None:
    found = ROUTES.find(method, segments(path))
    assert found is not None
    assert (found[0].function_name, found[1]) == (name, params)


def test_a_resource_without_the_method_is_not_a_route() -> None:
    """API Gateway picks the resource by path first: POST /items/42 has no method there."""
    assert ROUTES.find("POST", segments("/items/42")) is None
    assert api(route("GET", "/a")).find("GET", segments("/b")) is None
    assert api(route("ANY", "/files/{proxy+}")).find("GET", segments("/files")) is None


def request(**fields: object) -> HttpRequest:
    base: dict[str, object] = {
        "method": "GET",
        "raw_path": "/items/42",
        "raw_query": "",
        "headers": (("Host", "127.0.0.1:3000"), ("User-Agent", "pytest")),
    }
    base.update(fields)
    return HttpRequest(**base)  # type: ignore[arg-type]


IDS = RequestIds(request_id="11111111-2222-4333-8444-555555555555", trace_id="Root=1-x", epoch_ms=0)


def event_for(req: HttpRequest, target_api: RestApi | None = None, **kwargs: object) -> dict:
    rest = target_api or api(route("GET", "/items/{id}"))
    found = rest.find(req.method, segments(req.raw_path))
    assert found is not None
    target = RestTarget(api=rest, route=found[0], path_parameters=found[1], path=req.raw_path)
    return build_rest_event(req, target, ids=IDS, **kwargs)  # type: ignore[arg-type]


def test_event_has_every_payload_1_0_field() -> None:
    event = event_for(request())
    assert set(event) == {
        "resource", "path", "httpMethod", "headers", "multiValueHeaders",
        "queryStringParameters", "multiValueQueryStringParameters", "pathParameters",
        "stageVariables", "requestContext", "body", "isBase64Encoded",
    }  # fmt: skip
    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/42"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["stageVariables"] is None
    assert event["body"] is None and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "dev"
    assert context["resourcePath"] == "/items/{id}"
    assert context["httpMethod"] == "GET"
    assert context["path"] == "/dev/items/42"
    assert context["requestId"] == IDS.request_id
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "pytest"
    assert context["identity"]["accessKey"] is None


def test_repeats_last_value_single_all_values_multi() -> None:
    headers = (("Host", "h"), ("X-Rep", "one"), ("x-rep", "two"), ("Accept", "a/b"))
    event = event_for(request(raw_query="a=1&a=2&b=&c=x%20y", headers=headers))
    assert event["queryStringParameters"] == {"a": "2", "b": "", "c": "x y"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""], "c": ["x y"]}
    assert event["headers"]["X-Rep"] == "two"  # names keep the client's case
    assert event["multiValueHeaders"]["X-Rep"] == ["one", "two"]
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["headers"]["X-Amzn-Trace-Id"] == "Root=1-x"


def test_body_is_text_unless_a_binary_media_type() -> None:
    rest = api(route("POST", "/up"), binary=("image/png", "application/*"))
    text = event_for(
        request(method="POST", raw_path="/up", headers=(("Content-Type", "application/json"),),
                body=b'{"a": 1}'),
        rest,
    )  # fmt: skip
    assert text["isBase64Encoded"] is True  # application/* matches application/json here
    plain = event_for(
        request(method="POST", raw_path="/up", headers=(("Content-Type", "text/plain"),),
                body="h\u00e9".encode()),
        rest,
    )  # fmt: skip
    assert plain == {**plain, "body": "h\u00e9", "isBase64Encoded": False}
    png = event_for(
        request(method="POST", raw_path="/up", headers=(("Content-Type", "image/png; q=1"),),
                body=b"\x89PNG\x00"),
        rest,
    )  # fmt: skip
    assert png["isBase64Encoded"] is True
    assert base64.b64decode(png["body"]) == b"\x89PNG\x00"


def test_iam_caller_fills_identity() -> None:
    event = event_for(request(), caller=IamCaller(access_key="AKIDX"))
    identity = event["requestContext"]["identity"]
    assert identity["accessKey"] == "AKIDX"
    assert identity["userArn"].startswith("arn:aws:iam::")


def test_proxy_result_merges_headers_as_api_gateway() -> None:
    result = {
        "statusCode": 201,
        "headers": {"X-Both": "single", "X-One": "1"},
        "multiValueHeaders": {"X-Both": ["m1", "m2"], "Set-Cookie": ["a=1", "b=2"]},
        "body": "hi",
        "isBase64Encoded": False,
    }
    head, body = map_proxy_result(json.dumps(result).encode(), decode_base64=False)
    assert head.status == 201 and body == b"hi"
    assert head.headers == (
        ("Content-Type", "application/json"),
        ("X-One", "1"),
        ("X-Both", "m1"),
        ("X-Both", "m2"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
    )


@pytest.mark.parametrize(
    "result",
    [
        b"not json",
        b'"a string"',
        b"[1]",
        b'{"body": "no status"}',
        b'{"statusCode": 200, "body": {"a": 1}}',
        b'{"statusCode": 200, "cookies": ["a=1"]}',
        b'{"statusCode": "x"}',
        b'{"statusCode": 200, "headers": {"X": ["a", "b"]}}',
        b'{"statusCode": 200, "body": "!!", "isBase64Encoded": true}',
    ],
)
def test_malformed_proxy_results(result: bytes) -> None:
    with pytest.raises(ResultError):
        map_proxy_result(result, decode_base64=True)


def test_base64_result_decoded_only_when_asked() -> None:
    result = json.dumps({"statusCode": 200, "body": "aGk=", "isBase64Encoded": True}).encode()
    assert map_proxy_result(result, decode_base64=True)[1] == b"hi"
    assert map_proxy_result(result, decode_base64=False)[1] == b"aGk="


def test_rest_prelude_with_multi_value_headers_and_cookies() -> None:
    prelude = {
        "statusCode": 207,
        "headers": {"Content-Type": "text/plain"},
        "multiValueHeaders": {"X-M": ["1", "2"]},
        "cookies": ["c=1; Path=/"],
    }
    reader = PreludeReader(rest_prelude)
    stream = json.dumps(prelude).encode() + b"\x00" * 8 + b"body"
    assert reader.feed(stream[:5]) is None
    head, rest = reader.feed(stream[5:])
    assert rest == b"body" and head.status == 207
    assert head.headers == (
        ("Content-Type", "text/plain"),
        ("X-M", "1"),
        ("X-M", "2"),
        ("Set-Cookie", "c=1; Path=/"),
    )


def test_template_routes_stages_and_settings() -> None:
    apis = {a.logical_id: a for a in load_rest_apis(FIXTURE)}
    assert set(apis) == {"ServerlessRestApi", "StreamApi"}  # ConditionedApi is absent
    implicit, explicit = apis["ServerlessRestApi"], apis["StreamApi"]
    assert implicit.stage == "Prod" and implicit.prefix == "/ServerlessRestApi/Prod"
    assert explicit.stage == "live"  # from the StageName parameter's default
    assert implicit.binary_media_types == ("image/png", "application/octet-stream")  # Globals
    assert {(r.method, r.path) for r in implicit.routes} == {
        ("GET", "/items/{id}"), ("GET", "/search"), ("POST", "/echo"),
        ("ANY", "/files/{proxy+}"), ("GET", "/files/readme"), ("GET", "/result"),
    }  # fmt: skip
    assert {r.transfer_mode for r in implicit.routes} == {"BUFFERED"}
    assert {r.authorization for r in implicit.routes} == {"NONE"}
    by_path = {r.path: r for r in explicit.routes}
    assert by_path["/stream"].transfer_mode == "RESPONSE_STREAM"
    assert by_path["/stream"].authorization == "AWS_IAM"  # the API's DefaultAuthorizer
    assert by_path["/public/stream"].authorization == "NONE"  # the event's Authorizer: NONE
    assert explicit.stage_variables == {"flavour": "plain"}
    assert explicit.cors is not None and explicit.cors.allow_origins == ("*",)
    assert explicit.cors.max_age == 300
    assert explicit.cors_preflight_authorized is False
    overridden = {
        a.logical_id: a for a in load_rest_apis(FIXTURE, "StageName=v2 WithAbsentApi=true")
    }
    assert overridden["StreamApi"].stage == "v2"
    assert "ConditionedApi" in overridden


def test_app_template_auth_follows_the_parameter() -> None:
    template = Path(__file__).parents[2] / "template.yaml"
    (default,) = load_rest_apis(template)
    assert default.prefix == "/StreamingRestApi/prod"
    assert {(r.path, r.method) for r in default.routes} == {
        (path, method) for path in ("/raw", "/sse", "/jsonl") for method in ("GET", "POST")
    }
    assert {r.transfer_mode for r in default.routes} == {"RESPONSE_STREAM"}
    assert {r.authorization for r in default.routes} == {"AWS_IAM"}
    assert default.cors is not None and default.cors.allow_origins == ("*",)
    (public,) = load_rest_apis(
        template,
        'FunctionUrlAuthType=NONE RestApiAuthorizer="" RestApiStageName=beta '
        'CorsAllowOrigins="https://app.example.com,http://localhost:3000"',
    )
    assert public.prefix == "/StreamingRestApi/beta"
    assert {r.authorization for r in public.routes} == {"NONE"}
    assert public.cors is not None and public.cors.allow_origins == ("https://app.example.com",)


def test_app_template_rest_api_follows_deploy_rest_api() -> None:
    """DeployRestApi=false: no API and no routes (the events are an Fn::If that
    AWS::LanguageExtensions resolves), as CloudFormation would deploy it."""
    template = Path(__file__).parents[2] / "template.yaml"
    assert [a.logical_id for a in load_rest_apis(template, "DeployRestApi=true")] == [
        "StreamingRestApi"
    ]
    assert load_rest_apis(template, "DeployRestApi=false") == []

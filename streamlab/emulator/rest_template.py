"""Reads a SAM template's API Gateway REST APIs (``AWS::Serverless::Api`` and ``Api`` events).

SAM CLI's own API provider merges every API of a template into one and forgets which event
streams, so this module reads the stacks SAM CLI has loaded itself: each ``Api`` event of each
function becomes a route of the API its ``RestApiId`` names (SAM's implicit
``ServerlessRestApi``, stage ``Prod``, when it names none). ``Globals: Api`` is merged with
SAM's own Globals code; parameters are resolved with SAM CLI's intrinsic resolver; CORS is
parsed with SAM CLI's parser; resources whose ``Condition`` is false are left out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from streamlab.emulator.invocation import CorsConfig
from streamlab.emulator.rest_spec import (
    IMPLICIT_API_ID,
    IMPLICIT_STAGE,
    RestApi,
    RestRoute,
    TransferMode,
)
from streamlab.emulator.template import (
    ParameterOverrides,
    TemplateError,
    _absent_by_condition,
    load_stacks,
)

log = logging.getLogger(__name__)

SERVERLESS_API = "AWS::Serverless::Api"
SERVERLESS_FUNCTION = "AWS::Serverless::Function"
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"})


def load_rest_apis(
    template: str | Path,
    parameter_overrides: ParameterOverrides = None,
    *,
    region: str | None = None,
    function_names: set[str] | None = None,
) -> list[RestApi]:
    """Every REST API stage of the template that has at least one route.

    ``function_names``: the functions the engine can run; routes to others are skipped
    (with a warning), as the Function URL front skips functions it cannot run.
    """
    from samcli.lib.providers.provider import get_full_path

    path = Path(template).resolve()
    try:
        _, stacks = load_stacks(path, parameter_overrides, region)
        absent = _absent_by_condition(stacks)
        apis: list[RestApi] = []
        for stack in stacks:
            prefix = get_full_path(stack.stack_path, "")
            apis.extend(_stack_apis(stack, prefix, absent, function_names))
    except TemplateError:
        raise
    except Exception as exc:  # samcli raises many types for a template it cannot read
        raise TemplateError(f"Cannot read the REST APIs of {path}: {exc}") from exc
    return apis


def _stack_apis(
    stack: Any, prefix: str, absent: set[str], function_names: set[str] | None
) -> list[RestApi]:
    from samtranslator.plugins.globals.globals import Globals

    template = stack.template_dict
    resolve = _resolver(stack)
    resources: Mapping[str, Any] = template.get("Resources") or {}
    try:
        globals_ = Globals(template)
    except Exception as exc:  # an invalid Globals section: sam validate reports it better
        log.warning("Globals section ignored for REST APIs: %s", exc)
        globals_ = None

    def merged(properties: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
        props = dict(properties)
        if globals_ is not None:
            props = globals_.merge(SERVERLESS_API, props, logical_id)
        return resolve(props)

    explicit = {
        logical_id: merged((resource.get("Properties") or {}), logical_id)
        for logical_id, resource in resources.items()
        if isinstance(resource, Mapping)
        and resource.get("Type") == SERVERLESS_API
        and prefix + logical_id not in absent
    }
    routes: dict[str, list[RestRoute]] = {}
    implicit_used = False
    for logical_id, resource in resources.items():
        if not isinstance(resource, Mapping) or resource.get("Type") != SERVERLESS_FUNCTION:
            continue
        name = prefix + logical_id
        if name in absent:
            continue
        events = (resource.get("Properties") or {}).get("Events") or {}
        for event_name, event in events.items():
            if not isinstance(event, Mapping) or event.get("Type") != "Api":
                continue
            if function_names is not None and name not in function_names:
                log.warning(
                    "%s: Api event %s skipped (function not runnable locally)", name, event_name
                )
                continue
            props = resolve(dict(event.get("Properties") or {}))
            api_id = _api_reference(props.get("RestApiId"))
            if api_id is None:
                api_id = IMPLICIT_API_ID
                implicit_used = True
            elif api_id not in explicit:
                log.warning(
                    "%s: Api event %s names RestApiId %s, which is not a deployed "
                    "AWS::Serverless::Api of this template: skipped",
                    name,
                    event_name,
                    api_id,
                )
                continue
            api_props = explicit.get(api_id) or merged({}, IMPLICIT_API_ID)
            route = _route(name, event_name, props, api_props)
            if route is not None:
                routes.setdefault(api_id, []).append(route)
    if implicit_used:
        explicit.setdefault(IMPLICIT_API_ID, merged({"StageName": IMPLICIT_STAGE}, IMPLICIT_API_ID))
    apis = []
    for api_id, props in explicit.items():
        if api_id not in routes:
            if props.get("DefinitionBody") or props.get("DefinitionUri"):
                log.warning("%s: routes from an OpenAPI definition are not served locally", api_id)
            continue
        apis.append(_api(prefix + api_id, props, routes[api_id]))
    return apis


def _resolver(stack: Any):  # type: ignore[no-untyped-def]
    """Resolves parameter references (and pseudo-parameters) in a property value.

    Parameter ``Ref``s are substituted first, bottom-up (a ``CommaDelimitedList`` as a list,
    an empty value as empty: SAM CLI's symbol table would fall back to the default), then
    the intrinsic functions left are handed to SAM CLI's resolver.
    """
    from samcli.lib.intrinsic_resolver.intrinsic_property_resolver import IntrinsicResolver
    from samcli.lib.intrinsic_resolver.intrinsics_symbol_table import IntrinsicsSymbolTable
    from samcli.lib.providers.sam_base_provider import SamBaseProvider

    template = stack.template_dict
    values = SamBaseProvider._get_parameter_values(template, stack.parameters)
    symbols = IntrinsicsSymbolTable(logical_id_translator=values, template=template)
    resolver = IntrinsicResolver(template=template, symbol_resolver=symbols)
    declared = template.get("Parameters") or {}

    def parameter(name: str) -> Any:
        value = values[name]
        kind = (declared.get(name) or {}).get("Type", "") if isinstance(declared, Mapping) else ""
        if isinstance(value, str) and (kind == "CommaDelimitedList" or kind.startswith("List<")):
            return [part.strip() for part in value.split(",")]
        return value

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Ref"}:
                name = value["Ref"]
                # A resource reference (RestApiId) is kept as written.
                return parameter(name) if isinstance(name, str) and name in values else value
            inner = {key: resolve(item) for key, item in value.items()}
            if set(inner) == {"Fn::Sub"}:
                substituted = _sub(inner["Fn::Sub"], values)
                if substituted is not None:
                    return substituted
            if len(inner) == 1 and next(iter(inner)).startswith("Fn::"):
                try:
                    return resolver.intrinsic_property_resolver(inner, ignore_errors=False)
                except Exception:
                    return inner
            return inner
        if isinstance(value, list):
            return [resolve(item) for item in value]
        return value

    return resolve


_SUB_NAME = re.compile(r"\$\{([^!}][^}]*)\}")


def _sub(argument: Any, parameters: Mapping[str, Any]) -> str | None:
    """``Fn::Sub`` over strings (SAM CLI's own mangles values that contain a dot)."""
    variables: Mapping[str, Any] = {}
    if isinstance(argument, str):
        text = argument
    elif (
        isinstance(argument, list)
        and len(argument) == 2
        and isinstance(argument[0], str)
        and isinstance(argument[1], Mapping)
    ):
        text, variables = argument[0], argument[1]
    else:
        return None
    names = {**{k: v for k, v in parameters.items() if isinstance(v, str)}, **variables}
    wanted = _SUB_NAME.findall(text)
    if not all(isinstance(names.get(name), str) for name in wanted):
        return None
    return _SUB_NAME.sub(lambda m: names[m.group(1)], text).replace("${!", "${")


def _api_reference(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Mapping) and set(value) == {"Ref"}:
        return str(value["Ref"])
    if isinstance(value, str):
        return value
    return str(value)


def _route(
    function_name: str, event_name: str, props: Mapping[str, Any], api_props: Mapping[str, Any]
) -> RestRoute | None:
    path, method = props.get("Path"), props.get("Method")
    if not isinstance(path, str) or not isinstance(method, str):
        log.warning(
            "%s: Api event %s without a literal Path and Method: skipped", function_name, event_name
        )
        return None
    method = method.upper()
    if method not in _METHODS:
        log.warning("%s: Api event %s has method %s: skipped", function_name, event_name, method)
        return None
    mode: TransferMode = "BUFFERED"
    if props.get("ResponseTransferMode") == "RESPONSE_STREAM":
        mode = "RESPONSE_STREAM"
    elif props.get("ResponseTransferMode") not in (None, "BUFFERED"):
        log.warning(
            "%s: Api event %s: ResponseTransferMode %r read as BUFFERED",
            function_name,
            event_name,
            props.get("ResponseTransferMode"),
        )
    event_auth = props.get("Auth") or {}
    api_auth = api_props.get("Auth") or {}
    authorizer = event_auth.get("Authorizer") if isinstance(event_auth, Mapping) else None
    if authorizer is None and isinstance(api_auth, Mapping):
        authorizer = api_auth.get("DefaultAuthorizer") or "NONE"
    authorizer = authorizer or "NONE"
    if authorizer not in ("AWS_IAM", "NONE"):
        log.warning(
            "%s: Api event %s uses authorizer %s, which is not emulated: served without it",
            function_name,
            event_name,
            authorizer,
        )
        authorizer = "NONE"
    return RestRoute(
        function_name=function_name,
        method=method,
        path="/" + path.strip("/") if path.strip("/") else "/",
        transfer_mode=mode,
        authorization=authorizer,
        event_name=event_name,
    )


def _api(logical_id: str, props: Mapping[str, Any], routes: list[RestRoute]) -> RestApi:
    stage = props.get("StageName")
    if not isinstance(stage, str) or not stage:
        raise TemplateError(f"{logical_id}: StageName must be a literal string, got {stage!r}")
    binary = tuple(
        str(value).replace("~1", "/")
        for value in props.get("BinaryMediaTypes") or ()
        if isinstance(value, str)
    )
    auth = props.get("Auth") or {}
    preflight_authorized = bool(
        isinstance(auth, Mapping)
        and auth.get("DefaultAuthorizer") == "AWS_IAM"
        and auth.get("AddDefaultAuthorizerToCorsPreflight", True) not in (False, "false", "False")
    )
    variables = props.get("Variables") or {}
    return RestApi(
        logical_id=logical_id,
        stage=stage,
        routes=tuple(routes),
        binary_media_types=binary,
        cors=_cors(props.get("Cors")),
        cors_preflight_authorized=preflight_authorized,
        stage_variables={str(k): str(v) for k, v in variables.items()}
        if isinstance(variables, Mapping)
        else {},
    )


def _cors(value: Any) -> CorsConfig | None:
    """SAM's ``Cors`` (quoted strings, ``"'*'"``) as a CorsConfig, parsed by SAM CLI."""
    if not value:
        return None
    from samcli.lib.providers.cfn_base_api_provider import CfnBaseApiProvider

    cors = CfnBaseApiProvider().extract_cors(value)
    if cors is None:
        return None

    def split(text: str | None) -> tuple[str, ...]:
        return tuple(part.strip() for part in (text or "").split(",") if part.strip())

    max_age = cors.max_age
    return CorsConfig(
        allow_origins=split(cors.allow_origin),
        allow_methods=split(cors.allow_methods),
        allow_headers=split(cors.allow_headers),
        allow_credentials=bool(cors.allow_credentials),
        max_age=int(max_age) if max_age not in (None, "") else None,
    )

"""Reads a SAM template into FunctionSpecs with SAM CLI's own providers.

SAM CLI already resolves what a hand-written reader would get subtly wrong: the
Serverless transform, ``Globals``, parameters and intrinsics, layer references, paths
relative to the template. This module only maps its ``Function`` tuples onto the
emulator's vocabulary.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from streamlab.emulator.invocation import CorsConfig, FunctionSpec, FunctionUrl

# Before samcli is imported: it reads this to decide whether to send telemetry.
os.environ.setdefault("SAM_CLI_TELEMETRY", "0")

log = logging.getLogger(__name__)

ParameterOverrides = str | Mapping[str, Any] | None


class TemplateError(Exception):
    """The template cannot be loaded or names something the emulator cannot run."""


def parse_parameter_overrides(overrides: ParameterOverrides) -> dict[str, str]:
    """Accepts ``--parameter-overrides`` exactly as ``sam`` does (``K=V ...``,
    ``ParameterKey=K,ParameterValue=V``, ``file://params.yaml``), or a mapping."""
    if not overrides:
        return {}
    if isinstance(overrides, Mapping):
        return {str(key): str(value) for key, value in overrides.items()}
    import click
    from samcli.cli.types import CfnParameterOverridesType

    try:
        parsed = CfnParameterOverridesType().convert(overrides, None, None)
    except click.BadParameter as exc:
        raise TemplateError(f"Invalid parameter overrides: {exc.format_message()}") from exc
    return {str(key): str(value) for key, value in parsed.items()}


def load_stacks(
    template: str | Path, parameter_overrides: ParameterOverrides = None, region: str | None = None
) -> tuple[Path, list[Any]]:
    """The template's stacks (nested ones too) through SAM CLI's loader, parameters resolved.

    Raises what SAM CLI raises for a template it cannot read; callers wrap it with context.
    """
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

    path = Path(template).resolve()
    if not path.is_file():
        raise TemplateError(f"Template not found: {path}")
    pseudo = {"AWS::Region": region} if region else None
    overrides = parse_parameter_overrides(parameter_overrides)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # samtranslator's, not ours
        stacks, _ = SamLocalStackProvider.get_stacks(
            str(path),
            parameter_overrides=overrides,
            global_parameter_overrides=pseudo,
            # AWS::LanguageExtensions resolved as CloudFormation would (conditional events).
            language_extensions_enabled=True,
        )
    return path, stacks


def load_functions(
    template: str | Path,
    parameter_overrides: ParameterOverrides = None,
    *,
    region: str | None = None,
) -> dict[str, FunctionSpec]:
    """Every runnable function of the template, by logical id (``Child/Fn`` when nested)."""
    from samcli.lib.providers.exceptions import InvalidLayerReference
    from samcli.lib.providers.sam_function_provider import SamFunctionProvider

    path = Path(template).resolve()
    try:
        _, stacks = load_stacks(path, parameter_overrides, region)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # samtranslator's, not ours
            provider = SamFunctionProvider(stacks, ignore_code_extraction_warnings=True)
            absent = _absent_by_condition(stacks)
            snap_started = _snap_started(stacks)
            functions = [f for f in provider.get_all() if f.full_path not in absent]
        reserved = _reserved_concurrency(stacks)
        managed = _managed_concurrency(stacks)
        specs = {}
        for function in functions:
            spec = _to_spec(function, reserved.get(function.full_path))
            if spec is not None:
                if spec.name in snap_started:
                    spec = dataclasses.replace(spec, snap_start=True)
                if spec.name in managed:
                    spec = dataclasses.replace(spec, per_environment_concurrency=managed[spec.name])
                specs[spec.name] = spec
    except InvalidLayerReference as exc:
        raise TemplateError(str(exc)) from exc
    except TemplateError:
        raise
    except Exception as exc:  # samcli raises many types for a template it cannot read
        raise TemplateError(f"Cannot load {path}: {exc}") from exc
    return specs


def _reserved_concurrency(stacks: list[Any]) -> dict[str, int]:
    """``ReservedConcurrentExecutions`` by function full path (SAM CLI's Function drops it)."""
    return {
        name: number
        for name, value in _function_property(stacks, "ReservedConcurrentExecutions").items()
        if (number := _number(name, "ReservedConcurrentExecutions", value)) is not None
    }


# Python's default on Managed Instances is 16 per vCPU; locally one vCPU is assumed.
DEFAULT_MANAGED_CONCURRENCY = 16


def _managed_concurrency(stacks: list[Any]) -> dict[str, int]:
    """``PerExecutionEnvironmentMaxConcurrency`` of each function on Lambda Managed Instances
    (a ``CapacityProviderConfig``, SAM's shape or CloudFormation's), by full path."""
    found: dict[str, int] = {}
    configs = _function_property(stacks, "CapacityProviderConfig", select=_max_concurrency)
    for name, value in configs.items():
        if value is _UNSET:
            log.warning(
                "%s: CapacityProviderConfig without PerExecutionEnvironmentMaxConcurrency: "
                "%d invocations per environment (Python's default per vCPU)",
                name,
                DEFAULT_MANAGED_CONCURRENCY,
            )
            found[name] = DEFAULT_MANAGED_CONCURRENCY
        elif (number := _number(name, "PerExecutionEnvironmentMaxConcurrency", value)) and (
            number > 0
        ):
            found[name] = number
    return found


_UNSET = object()


def _max_concurrency(config: Any) -> Any:
    """The concurrency of a ``CapacityProviderConfig`` (not its ``Arn``, which may name a
    resource no local resolver knows), or ``_UNSET``."""
    if not isinstance(config, Mapping):
        return _UNSET
    config = config.get("LambdaManagedInstancesCapacityProviderConfig", config)
    if not isinstance(config, Mapping):
        return _UNSET
    return config.get("PerExecutionEnvironmentMaxConcurrency", _UNSET)


def _number(name: str, what: str, value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        log.warning("%s: %s %r is not a number", name, what, value)
        return None


def _function_property(
    stacks: list[Any], key: str, select: Callable[[Any], Any] = lambda value: value
) -> dict[str, Any]:
    """A function property SAM CLI's ``Function`` drops, by function full path: from the
    function's properties, else the template's ``Globals``; the part ``select`` picks has its
    intrinsics resolved with the stack's parameters, as conditions are (an unresolvable one
    is left out, with a warning)."""
    from samcli.lib.providers.provider import get_full_path

    found: dict[str, Any] = {}
    for stack in stacks:
        template = stack.template_dict
        defaults = ((template.get("Globals") or {}).get("Function") or {}).get(key)
        resolver = None
        for logical_id, resource in (template.get("Resources") or {}).items():
            if not isinstance(resource, Mapping) or resource.get("Type") not in (
                "AWS::Serverless::Function",
                "AWS::Lambda::Function",
            ):
                continue
            value = (resource.get("Properties") or {}).get(key, defaults)
            if isinstance(value, Mapping) and isinstance(defaults, Mapping):
                value = {**defaults, **value}  # SAM merges a map with its Globals
            if value is None:
                continue
            value = select(value)
            if value is _UNSET:
                found[get_full_path(stack.stack_path, logical_id)] = value
                continue
            if isinstance(value, Mapping):
                resolver = resolver or _resolver(stack)
                try:
                    value = resolver.intrinsic_property_resolver(value, ignore_errors=False)
                except Exception as exc:
                    log.warning("%s: %s unresolved (%s)", logical_id, key, exc)
                    continue
            found[get_full_path(stack.stack_path, logical_id)] = value
    return found


def _resolver(stack: Any) -> Any:
    from samcli.lib.intrinsic_resolver.intrinsic_property_resolver import IntrinsicResolver
    from samcli.lib.intrinsic_resolver.intrinsics_symbol_table import IntrinsicsSymbolTable
    from samcli.lib.providers.sam_base_provider import SamBaseProvider

    template = stack.template_dict
    values = SamBaseProvider._get_parameter_values(template, stack.parameters)
    symbols = IntrinsicsSymbolTable(logical_id_translator=values, template=template)
    return IntrinsicResolver(template=template, symbol_resolver=symbols)


def _absent_by_condition(stacks: list[Any]) -> set[str]:
    """Full paths of the resources whose ``Condition`` is false.

    SAM CLI's providers build every resource whatever its ``Condition``; CloudFormation
    would not create these (e.g. the buffered twins unless ``DeployBufferedTwins=true``).
    The conditions are evaluated by SAM CLI's own intrinsic resolver, with the same
    parameter values (defaults, pseudo-parameters, overrides) it resolved the stack with.
    """
    from samcli.lib.intrinsic_resolver.intrinsic_property_resolver import IntrinsicResolver
    from samcli.lib.intrinsic_resolver.intrinsics_symbol_table import IntrinsicsSymbolTable
    from samcli.lib.providers.provider import get_full_path
    from samcli.lib.providers.sam_base_provider import SamBaseProvider

    absent = set()
    for stack in stacks:
        template = stack.template_dict
        conditions = template.get("Conditions") or {}
        if not conditions:
            continue
        values = SamBaseProvider._get_parameter_values(template, stack.parameters)
        symbols = IntrinsicsSymbolTable(logical_id_translator=values, template=template)
        resolver = IntrinsicResolver(template=template, symbol_resolver=symbols)
        for logical_id, resource in (template.get("Resources") or {}).items():
            condition = resource.get("Condition") if isinstance(resource, Mapping) else None
            if condition in conditions and not _holds(resolver, conditions[condition], condition):
                absent.add(get_full_path(stack.stack_path, logical_id))
    return absent


def _snap_started(stacks: list[Any]) -> set[str]:
    """Full paths of the functions with ``SnapStart: {ApplyOn: PublishedVersions}``.

    SAM CLI's ``Function`` tuple does not carry SnapStart, so it is read from the resource (or
    the template's ``Globals``), which is where SAM's transform takes it from.
    """
    from samcli.lib.providers.provider import get_full_path

    found = set()
    for stack in stacks:
        template = stack.template_dict
        defaults = ((template.get("Globals") or {}).get("Function") or {}).get("SnapStart")
        for logical_id, resource in (template.get("Resources") or {}).items():
            if not isinstance(resource, Mapping):
                continue
            if resource.get("Type") not in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
                continue
            properties = resource.get("Properties") or {}
            setting = properties.get("SnapStart", defaults)
            if isinstance(setting, Mapping) and setting.get("ApplyOn") == "PublishedVersions":
                found.add(get_full_path(stack.stack_path, logical_id))
    return found


def _holds(resolver: Any, condition: Any, name: Any) -> bool:
    try:
        return bool(resolver.intrinsic_property_resolver(condition, ignore_errors=False))
    except Exception as exc:  # an intrinsic SAM cannot evaluate locally: keep the resource
        log.warning("Condition %s cannot be evaluated locally (%s): assumed true", name, exc)
        return True


def _to_spec(function: Any, reserved_concurrency: int | None = None) -> FunctionSpec | None:
    name = function.full_path
    if function.packagetype != "Zip" or not function.codeuri:
        log.warning("%s: skipped (only Zip functions with a CodeUri run locally)", name)
        return None
    if not function.handler or not function.runtime:
        log.warning("%s: skipped (no Handler or Runtime)", name)
        return None
    return FunctionSpec(
        name=name,
        handler=function.handler,
        runtime=function.runtime,
        code_dir=Path(function.codeuri),
        layer_dirs=tuple(Path(layer.codeuri) for layer in function.layers if layer.codeuri),
        remote_layers=tuple(
            (position, layer.arn)
            for position, layer in enumerate(function.layers)
            if not layer.codeuri
        ),
        environment=_variables(name, function.environment),
        timeout_s=float(function.timeout or 3),
        memory_mb=int(function.memory or 128),
        architecture=(function.architectures or ["x86_64"])[0],
        url=_function_url(function.function_url_config),
        reserved_concurrency=reserved_concurrency,
    )


def _variables(name: str, environment: Mapping[str, Any] | None) -> dict[str, str]:
    variables = (environment or {}).get("Variables") or {}
    resolved = {}
    for key, value in variables.items():
        if isinstance(value, bool):
            resolved[key] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            resolved[key] = str(value)
        else:
            # An intrinsic SAM cannot resolve locally (e.g. GetAtt of a table): AWS would
            # have a value; here it is empty, as under ``sam local``.
            log.warning("%s: environment variable %s is unresolved locally (%s)", name, key, value)
            resolved[key] = ""
    return resolved


def _function_url(config: Mapping[str, Any] | None) -> FunctionUrl | None:
    if not config:
        return None
    cors = config.get("Cors")
    return FunctionUrl(
        auth_type=config.get("AuthType", "AWS_IAM"),
        invoke_mode=config.get("InvokeMode", "BUFFERED"),
        cors=_cors(cors) if isinstance(cors, Mapping) else None,
    )


def _cors(cors: Mapping[str, Any]) -> CorsConfig:
    max_age = cors.get("MaxAge")
    return CorsConfig(
        allow_origins=tuple(cors.get("AllowOrigins") or ()),
        allow_methods=tuple(cors.get("AllowMethods") or ()),
        allow_headers=tuple(cors.get("AllowHeaders") or ()),
        expose_headers=tuple(cors.get("ExposeHeaders") or ()),
        allow_credentials=bool(cors.get("AllowCredentials", False)),
        max_age=int(max_age) if max_age is not None else None,
    )

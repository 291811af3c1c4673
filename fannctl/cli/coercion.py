"""Option values converted without pydantic, so a command starts fast.

typer 0.29 converts every option and argument through a pydantic TypeAdapter;
importing pydantic and building the adapters takes 0.12-0.23 s here, about
half of what a whole one-pattern ``fannctl run`` should. The values fannctl's
commands take are plain (text, whole numbers, numbers, yes/no, lists of
text), and for those a few lines do the same conversion. Parameters with
ranges, choices, custom parsers or other types keep typer's own path, as does
any typer without this hook.
"""

from __future__ import annotations

import types
import typing
from typing import Any

_SIMPLE = (str, int, float, bool)
_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off"}


def _plain_kind(annotation: Any) -> Any | None:
    """str/int/float/bool (or list[str]) behind an annotation, optional or not; else None."""
    if annotation in _SIMPLE:
        return annotation
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        return _plain_kind(rest[0]) if len(rest) == 1 else None
    if origin is list and args == (str,):
        return list
    return None


def _convert(kind: Any, value: Any) -> Any:
    """``value`` as ``kind``; ValueError with the reason when it is not one."""
    if kind is list:
        return [str(item) for item in value]
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ValueError(f"{value!r} is not a yes/no value")
    if kind is int:
        try:
            return int(str(value).strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a whole number") from None
    if kind is float:
        try:
            return float(str(value).strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    return value if isinstance(value, str) else str(value)


def install(command) -> None:
    """Give every plain parameter of ``command`` (and of its subcommands) the light
    conversion; leave the rest to typer."""
    try:
        from typer._click.exceptions import BadParameter
        from typer._coercion import RuntimeParam
    except ImportError:  # a typer without pydantic coercion: nothing to do
        return

    class PlainValue(RuntimeParam):
        """Convert to one plain type, with a one-line BadParameter when it fails."""

        kind: Any = None

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                return _convert(self.kind, value)
            except ValueError as error:
                raise BadParameter(str(error), ctx=ctx, param=param) from None

    from typer._click import Context

    def visit(node) -> None:
        # click builds each command's --help option on first use; build it now
        help_option = node.get_help_option(Context(node, help_option_names=["-h", "--help"]))
        for param in [*node.params, *([help_option] if help_option is not None else [])]:
            descriptor = getattr(param, "type_descriptor", None)
            info = getattr(descriptor, "parameter_info", None)
            if descriptor is None or getattr(param, "_runtime_param", 0) is not None:
                continue
            if descriptor.file_annotation is not None or info is None:
                continue
            if any(getattr(info, name, None) is not None for name in ("min", "max", "parser")):
                continue
            if getattr(info, "click_type", None) is not None:
                continue
            kind = _plain_kind(descriptor.annotation)
            if kind is None:
                continue
            runtime = PlainValue(parameter_info=info, annotation=descriptor.annotation)
            object.__setattr__(runtime, "kind", kind)
            param._runtime_param = runtime
        for sub in getattr(node, "commands", {}).values():
            visit(sub)

    visit(command)

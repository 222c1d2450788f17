"""Name and keyword checking shared by every registry (datasets, streams, methods, ...).

Unknown names and keywords fail with the list of valid ones and a did-you-mean, before any
work starts.
"""
from __future__ import annotations

import difflib
import inspect
import tomllib
from typing import Any, Callable, Mapping


class ConfigError(ValueError):
    """A configuration names something unknown or gives a bad value; the message says the fix."""


def did_you_mean(name: str, valid) -> str:
    close = difflib.get_close_matches(str(name), [str(v) for v in valid], n=1, cutoff=0.5)
    return f" Did you mean {close[0]!r}?" if close else ""


def check_name(name: str, registry: Mapping[str, Any], kind: str) -> str:
    """Return ``name`` if ``registry`` has it, else raise with the valid names."""
    if name in registry:
        return name
    valid = ", ".join(sorted(registry))
    raise ConfigError(f"unknown {kind} {name!r}.{did_you_mean(name, registry)} Valid {kind}s: {valid}.")


def keyword_names(fn: Callable) -> list[str]:
    """The keyword parameters ``fn`` (a function or class) accepts."""
    sig = inspect.signature(fn)
    return [p.name for p in sig.parameters.values()
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "self"]


def check_kwargs(fn: Callable, kwargs: Mapping[str, Any], where: str) -> None:
    """Raise when ``kwargs`` has a key ``fn`` does not take, naming the valid keys."""
    valid = keyword_names(fn)
    for key in kwargs:
        if key not in valid:
            raise ConfigError(
                f"{where}: unknown keyword {key!r}.{did_you_mean(key, valid)} "
                f"Valid keywords: {', '.join(valid)}."
            )


def parse_value(text: str) -> Any:
    """A ``--set`` value: TOML syntax (``3``, ``0.1``, ``true``, ``[1, 2]``, ``"x"``), else a plain string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except RecursionError as e:
        raise ConfigError(f"value {text[:40]!r}... nests too deeply; give a plain number, string or short list.") from e


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    """``["a.b=1", "c=x"]`` -> ``{"a.b": 1, "c": "x"}``."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {item!r} (e.g. --set n_tasks=3).")
        out[key.strip()] = parse_value(value.strip())
    return out

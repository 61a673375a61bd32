"""One token flow per platform, chosen by the channel's adapter name."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from scheduler.credentials.oauth import Flow
from scheduler.errors import ConfigError
from scheduler.timeutil import Clock

#: adapter name -> (module, class)
FLOWS: dict[str, tuple[str, str]] = {
    "x": ("scheduler.credentials.flows.x", "XFlow"),
    "threads": ("scheduler.credentials.flows.meta", "ThreadsFlow"),
    "instagram": ("scheduler.credentials.flows.meta", "instagram_flow"),
    "facebook": ("scheduler.credentials.flows.meta", "FacebookLoginFlow"),
    "linkedin": ("scheduler.credentials.flows.linkedin", "LinkedInFlow"),
}


def flow_for(adapter: str, channel: str, settings: Any, *, env: Mapping[str, str],
             clock: Clock) -> Flow:
    """The token flow of a channel; a ConfigError naming the platforms that have one."""
    spec = FLOWS.get(adapter)
    if spec is None:
        raise no_flow(adapter, channel)
    make = getattr(importlib.import_module(spec[0]), spec[1])  # a Flow class or factory
    flow: Flow = make(channel, settings, env=env, clock=clock)
    return flow


def no_flow(adapter: str, channel: str) -> ConfigError:
    """The error for a channel whose platform has no login flow, naming those that do."""
    return ConfigError(f"channel '{channel}': adapter '{adapter}' has no login flow (these do: "
                       f"{', '.join(sorted(FLOWS))}); give it a token_env instead")

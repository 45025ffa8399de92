"""Local stand-ins for the channels liveslice publishes to (see :mod:`liveslice.standins.base`)."""

from __future__ import annotations

import importlib

from liveslice.standins.base import Fault, Received, StandIn

#: channel type -> "module:class" of its stand-in
STANDINS = {
    "wecom": "liveslice.standins.wecom:WeComStandIn",
    "feishu": "liveslice.standins.feishu:FeishuStandIn",
    "dingtalk": "liveslice.standins.dingtalk:DingTalkStandIn",
    "telegram": "liveslice.standins.telegram:TelegramStandIn",
    "slack": "liveslice.standins.slack:SlackStandIn",
    "discord": "liveslice.standins.discord:DiscordStandIn",
    "webhook": "liveslice.standins.webhook:WebhookStandIn",
}


def standin_class(channel: str) -> type[StandIn]:
    module, _, name = STANDINS[channel].partition(":")
    cls: type[StandIn] = getattr(importlib.import_module(module), name)
    return cls


__all__ = ["STANDINS", "Fault", "Received", "StandIn", "standin_class"]

"""Group robots as channels: one ``Preset`` per platform kind (see ``base``)."""

from __future__ import annotations

from adapters.robots import dingtalk, feishu, mattermost, slack, wecom
from adapters.robots.base import Preset

PRESETS: dict[str, Preset] = {
    module.PRESET.kind: module.PRESET for module in (wecom, dingtalk, feishu, slack, mattermost)
}

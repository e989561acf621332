"""A browser's family from its User-Agent, for ``/sessions``: enough to tell one's phone from
one's computer, never the whole string (it is close to a fingerprint)."""

from __future__ import annotations

BROWSERS = (
    ("wxwork", "WeCom"),
    ("dingtalk", "DingTalk"),
    ("lark", "Feishu"),
    ("feishu", "Feishu"),
    ("micromessenger", "WeChat"),
    ("edg/", "Edge"),
    ("firefox/", "Firefox"),
    ("chrome/", "Chrome"),
    ("chromium/", "Chrome"),
    ("safari/", "Safari"),
)
SYSTEMS = (
    ("android", "Android"),
    ("iphone", "iOS"),
    ("ipad", "iOS"),
    ("windows", "Windows"),
    ("mac os", "macOS"),
    ("cros", "ChromeOS"),
    ("linux", "Linux"),
)


def family(agent: str) -> str:
    text = agent.lower()
    browser = next((name for key, name in BROWSERS if key in text), "")
    system = next((name for key, name in SYSTEMS if key in text), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system

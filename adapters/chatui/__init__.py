"""What the playground page and the web chat page share: one script (``chat.js``) that
draws messages (text and HTML, images, documents, buttons), runs the composer (Enter to send,
a growing text box, file sending) and reads files for sending. Each page includes it with
``include``, inline, so both keep a Content-Security-Policy without any script URL."""

from __future__ import annotations

from importlib.resources import files

MARK = "/*__CHAT_UI__*/"


def script() -> str:
    return files(__package__).joinpath("chat.js").read_text(encoding="utf-8")


def include(page: str) -> str:
    """``page`` with the shared script where it says ``/*__CHAT_UI__*/``."""
    if MARK not in page:
        raise ValueError(f"the page has no {MARK} to include the chat script at")
    return page.replace(MARK, script().replace("</", "<\\/"))

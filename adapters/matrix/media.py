"""Images and files people send on Matrix in a direct chat, fetched from the media repository
(and decrypted, in an encrypted room) before their event is handed in: the core never talks to
a homeserver, and an ``mxc://`` URL is only lent (media can be deleted or expire)."""

from __future__ import annotations

import dataclasses
import logging

from nio import AsyncClient, MemoryDownloadResponse
from nio.crypto.attachments import decrypt_attachment
from nio.exceptions import EncryptionError

from adapters.matrix.parse import Media
from bot.events import Attachment, Incoming

log = logging.getLogger(__name__)


async def with_media(client: AsyncClient, event: Incoming, media: Media) -> Incoming | None:
    """``event`` with the image's or file's bytes. One over ``media.limit`` (as its
    ``info.size`` says, or as it comes) or that cannot be fetched or decrypted is left out and
    the caption goes on alone; one without a caption then leaves nothing to take in."""
    data = await _fetch(client, media)
    if data is not None:
        return dataclasses.replace(event, attachment=Attachment(media.name, media.mime, data))
    log.info("matrix: left out %s (%s bytes) of %s", media.name, media.size, event.event_id)
    return event if event.text.strip() else None


async def _fetch(client: AsyncClient, media: Media) -> bytes | None:
    if media.size is not None and media.size > media.limit:
        return None
    answer = await client.download(media.url)
    if not isinstance(answer, MemoryDownloadResponse):
        log.warning("matrix: could not download %s: %s", media.url, answer)
        return None
    data = bytes(answer.body)
    if len(data) > media.limit:
        return None
    if media.file is None:
        return data
    try:
        key, hashes, iv = media.file["key"]["k"], media.file["hashes"]["sha256"], media.file["iv"]
        return bytes(decrypt_attachment(data, key, hashes, iv))
    except (KeyError, TypeError, ValueError, EncryptionError) as error:
        log.warning("matrix: could not decrypt %s: %s", media.url, error)
        return None

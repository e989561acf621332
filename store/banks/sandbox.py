"""Parse a bank file in a child process with hard CPU, memory and wall-clock limits.

The parsers check the limits they know of (``store.banks.limits``); this is the fence around
what nobody foresaw. The child sets its own ``RLIMIT_CPU`` and ``RLIMIT_AS`` before it reads a
byte of the file, and the parent kills it at the wall-clock limit, so even an unknown bomb
costs the bot a bounded few seconds of one core and none of its memory. Everything crosses as
JSON: the bytes in on stdin, the parsed bank out on stdout.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from store.banks import (
    DEFAULT_BANK,
    Bank,
    BankError,
    ParsedLesson,
    ParsedLevel,
    ParsedQuestion,
    load,
    parse_file,
)
from store.banks.limits import Limits

OUT_OF_MEMORY = 3
ROOT = Path(__file__).resolve().parents[2]
"""Where the ``store`` package lives, so the child finds it however the bot was started."""


def to_json(bank: Bank) -> dict[str, Any]:
    return asdict(bank)


def from_json(data: dict[str, Any]) -> Bank:
    return Bank(
        data["name"],
        questions=[ParsedQuestion(**q) for q in data["questions"]],
        levels=[ParsedLevel(**level) for level in data["levels"]],
        lessons=[ParsedLesson(**lesson) for lesson in data["lessons"]],
        errors=[BankError(**e) for e in data["errors"]],
    )


def _refused(file: str, bank: str | None, message: str) -> Bank:
    return Bank(bank or DEFAULT_BANK, errors=[BankError(file, 1, message)])


async def parse_isolated(file: str, data: bytes, bank: str | None, limits: Limits) -> Bank:
    """``parse_file`` in a child process; a child that runs out of time or memory is one
    ``file:1`` error."""
    if len(data) > limits.file_bytes:
        return parse_file(file, data, bank, limits)  # refused on its size, nothing to run
    request = json.dumps({"file": file, "bank": bank, "limits": asdict(limits)})
    paths = [str(ROOT), os.environ.get("PYTHONPATH", "")]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "store.banks.sandbox",
        request,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=environment,
    )
    try:
        async with asyncio.timeout(limits.wall_seconds):
            out, _ = await process.communicate(data)
    except TimeoutError:
        return _refused(file, bank, f"reading the file took longer than {limits.wall_seconds:g} s")
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode == OUT_OF_MEMORY or process.returncode == -signal.SIGSEGV:
        return _refused(file, bank, "reading the file needs more memory than allowed")
    if process.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return _refused(file, bank, f"reading the file took more than {limits.cpu_seconds} s")
    if process.returncode != 0:
        return _refused(file, bank, "the file could not be read")
    # Thousands of questions to decode: off the event loop, so other chats go on meanwhile.
    return await asyncio.to_thread(lambda: from_json(json.loads(out)))


def load_isolated(path: Path, bank: str | None, limits: Limits) -> Bank:
    """``banks.load`` in a child process (``branchbot bank import``): a file over the size
    limit is refused from its size, unread; any other is parsed behind the same fence as a
    file sent in a chat."""
    if path.stat().st_size > limits.file_bytes:
        return load(path, bank, limits)
    return asyncio.run(parse_isolated(path.name, path.read_bytes(), bank, limits))


def main() -> int:
    """The child: fence itself in, then parse stdin."""
    request = json.loads(sys.argv[1])
    limits = Limits(**request["limits"])
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    try:
        data = sys.stdin.buffer.read(limits.file_bytes + 1)
        bank = parse_file(request["file"], data, request["bank"], limits)
        out = json.dumps(to_json(bank)).encode()
    except MemoryError:
        return OUT_OF_MEMORY
    sys.stdout.buffer.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

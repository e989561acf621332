"""Named queries of bank files waiting to be read (``learning_bank_jobs``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.clock import clock_of
from store.learning_tables import BankJob


@dataclass(frozen=True, slots=True)
class Upload:
    """A file and everything needed to import and answer it later, without the event."""

    file_name: str
    data: bytes
    skip_bad: bool
    admin: bool
    branch_id: int | None
    member_id: int | None
    platform: str
    chat_id: str
    user_id: str
    locale: str


@dataclass(frozen=True, slots=True)
class Claimed:
    """A job taken by the worker, detached from its session."""

    id: int
    upload: Upload
    attempts: int


class BankJobs:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.clock = clock_of(session)

    async def add(self, upload: Upload) -> int:
        job = BankJob(
            status="pending",
            file_name=upload.file_name,
            data=upload.data,
            skip_bad=upload.skip_bad,
            admin=upload.admin,
            branch_id=upload.branch_id,
            member_id=upload.member_id,
            platform=upload.platform,
            chat_id=upload.chat_id,
            user_id=upload.user_id,
            locale=upload.locale,
            attempts=0,
            created_at=self.clock.now(),
        )
        self.session.add(job)
        await self.session.flush()
        return job.id

    async def claim(self) -> Claimed | None:
        """The oldest waiting job, its attempt counted (committed before the file is read,
        so a file that brings the whole bot down is given up after a few restarts)."""
        job = await self.session.scalar(
            select(BankJob).where(BankJob.status == "pending").order_by(BankJob.id).limit(1)
        )
        if job is None:
            return None
        job.attempts += 1
        upload = Upload(
            job.file_name,
            job.data or b"",
            job.skip_bad,
            job.admin,
            job.branch_id,
            job.member_id,
            job.platform,
            job.chat_id,
            job.user_id,
            job.locale,
        )
        return Claimed(job.id, upload, job.attempts)

    async def waiting(self) -> int:
        """Files not read yet (tests and the docs' examples wait for their answers)."""
        count = await self.session.scalar(
            select(func.count()).select_from(BankJob).where(BankJob.status == "pending")
        )
        return count or 0

    async def finish(self, job_id: int, status: str) -> None:
        """``done`` or ``failed``; the file itself is not kept."""
        await self.session.execute(
            update(BankJob)
            .where(BankJob.id == job_id)
            .values(status=status, data=None, finished_at=self.clock.now())
        )

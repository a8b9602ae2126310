"""A second IMAP client for tests: deliver mail (APPEND), create folders, read and set flags."""

from __future__ import annotations

import re

import aioimaplib

from tests.fakes.dovecot import PASSWORD, USER, Dovecot


class Mailbox:
    def __init__(self, server: Dovecot, folder: str) -> None:
        self.server = server
        self.folder = folder
        self._client: aioimaplib.IMAP4 | None = None

    async def __aenter__(self) -> Mailbox:
        client = aioimaplib.IMAP4(host="127.0.0.1", port=self.server.port, timeout=10)
        await client.wait_hello_from_server()
        assert (await client.login(USER, PASSWORD)).result == "OK"
        await client.create(self.folder)
        assert (await client.select(self.folder)).result == "OK"
        self._client = client
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.logout()
            transport = self._client.protocol.transport
            if transport is not None:
                transport.close()

    @property
    def client(self) -> aioimaplib.IMAP4:
        assert self._client is not None
        return self._client

    async def deliver(self, raw: bytes, seen: bool = False) -> None:
        flags = r"(\Seen)" if seen else None
        response = await self.client.append(raw, mailbox=self.folder, flags=flags)
        assert response.result == "OK", response

    async def seen_uids(self) -> set[int]:
        await self.client.select(self.folder)
        response = await self.client.uid_search("SEEN")
        return {int(t) for t in response.lines[0].split() if t.isdigit()}

    async def unseen_uids(self) -> set[int]:
        await self.client.select(self.folder)
        response = await self.client.uid_search("UNSEEN")
        return {int(t) for t in response.lines[0].split() if t.isdigit()}

    async def mark_unseen(self, uid: int) -> None:
        await self.client.uid("store", str(uid), "-FLAGS.SILENT", r"(\Seen)")

    async def uidvalidity(self) -> int:
        response = await self.client.select(self.folder)
        data = b" ".join(bytes(x) for x in response.lines)
        match = re.search(rb"UIDVALIDITY (\d+)", data)
        assert match
        return int(match.group(1))

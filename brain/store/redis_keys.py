"""Where the Redis store keeps each thing: the key layout, partitions and hash tags.

Two layouts exist, chosen by the settings and recorded in the database:

* **single** (one Redis, one stream partition: the default, and the layout of every release
  before partitions existed): ``frontdesk:inbound``, ``frontdesk:convq:<conversation>``...
  Nothing carries a hash tag; every multi-key script may touch any key.
* **partitioned** (``FRONTDESK_STORE__STREAM_PARTITIONS`` > 1, or ``REDIS_CLUSTER``): the
  inbound queue is split into N streams. Work is grouped in *lanes*: a lane is the name of
  the lock an item is handled under (``conversation:<key>`` or ``relay:<ticket>``, see
  ``brain.store.base.lock_name``), and a lane belongs to partition ``crc32(lane) % N``. Every
  key of a lane carries its partition's hash tag, ``frontdesk:{p7}:...``: the stream entry,
  the conversation's queue index, its lock, its idempotency keys and its history. So the
  enqueue, head_of, finish and append_turn scripts touch one slot (a cluster runs a script or
  a MULTI only on one slot). An outbox record is addressed by the inbound key alone
  (``outbox_get(key)``), so it lives in the partition of ``crc32(key) % N``; the stats hash a
  script bumps sits in the same partition as the record it writes, and counters are summed
  over all partitions on read. Tickets (sequence, records, status indexes, the open-ticket
  pointer) share one ``{tickets}`` tag, since their transactions span them. An append-only
  log's keys (entries, ids, counter) share a tag of the log's own, ``{log:<name>}``. Key-value
  entries and token buckets are single keys and carry no tag (they spread over the cluster).

Queue entry ids handed to callers name their partition in the partitioned layout,
``<partition>/<stream id>``, so ``ack`` and ``finish`` find the stream from the id alone.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from redis.crc import key_slot

LAYOUT_KEY = "layout"
TICKETS_TAG = "{tickets}"


@dataclass(frozen=True, slots=True)
class Layout:
    namespace: str
    partitions: int = 1
    cluster: bool = False
    # Set once rather than a property: it is asked for a dozen times a message.
    partitioned: bool = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.partitions < 1:
            raise ValueError("a Redis store needs at least one stream partition")
        object.__setattr__(self, "partitioned", self.cluster or self.partitions > 1)

    @property
    def marker(self) -> str:
        """What the layout key holds for this layout (the single layout writes none)."""
        return f"partitions={self.partitions}" if self.partitioned else ""

    def key(self, *parts: str) -> str:
        """A key of its own (no tag): key-value entries, buckets, the layout marker."""
        return ":".join((self.namespace, *parts))

    def partition(self, lane: str) -> int:
        if self.partitions == 1:
            return 0
        return zlib.crc32(lane.encode()) % self.partitions

    def tag(self, partition: int) -> str:
        return "{p%d}" % partition  # noqa: UP031 (braces are the point)

    def in_partition(self, partition: int, *parts: str) -> str:
        if not self.partitioned:
            return self.key(*parts)
        return ":".join((self.namespace, self.tag(partition), *parts))

    def of_lane(self, lane: str, *parts: str) -> str:
        if not self.partitioned:  # no tag: the lane's partition (a CRC of its name) is moot
            return self.key(*parts)
        return self.in_partition(self.partition(lane), *parts)

    def stream(self, partition: int) -> str:
        return self.in_partition(partition, "inbound")

    def streams(self) -> list[str]:
        return [self.stream(p) for p in range(self.partitions)]

    def tickets(self, *parts: str) -> str:
        if not self.partitioned:
            return self.key(*parts)
        return ":".join((self.namespace, TICKETS_TAG, *parts))

    def of_log(self, log: str, *parts: str) -> str:
        """A log's keys (``Store.log_append``): partitioned, a tag of their own,
        ``{log:<name>}``, so that its append script touches one slot (a ``}`` in the name
        cuts the tag short, the same way for all of the log's keys)."""
        if not self.partitioned:
            return self.key(*parts, log)
        return ":".join((self.namespace, "{log:" + log + "}", *parts))

    # -- entry ids ---------------------------------------------------------------------------
    def entry_id(self, partition: int, stream_id: str) -> str:
        return f"{partition}/{stream_id}" if self.partitioned else stream_id

    def locate(self, entry_id: str) -> tuple[int, str]:
        """(partition, stream id) of an id made by ``entry_id``."""
        if not self.partitioned:
            return 0, entry_id
        partition, sep, stream_id = entry_id.partition("/")
        if not sep or not partition.isdigit() or int(partition) >= self.partitions:
            raise ValueError(f"{entry_id!r} is not a queue entry id of this store")
        return int(partition), stream_id

    def one_slot(self, keys: Sequence[str]) -> bool:
        """True if a script over ``keys`` may run: always on one Redis, on a cluster only
        when every key hashes to the same slot."""
        return not self.cluster or len({key_slot(k.encode()) for k in keys}) <= 1

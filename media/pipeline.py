"""From a media URL to its hashes: download, decode and hash, each file at most once.

A spam wave of one file must cost one hash, so results are cached twice: by the reference's key
(an attachment id, or an embed's proxy URL) before anything is downloaded, and by a digest of the
bytes after, for the same file uploaded again under a new id. Only hashes are cached; the bytes
are handed back to the caller, who needs them for a moment (a blurred preview) and drops them.

The caches keep each result pickled, as one bytes object: a MediaHashes is some 30 objects the
garbage collector would walk on every full collection, and full caches would hold over a million
of them (full collections already stalled the event loop 65-115 ms over 150,000 objects).
Unpickling a hit takes microseconds. (These pickles are the bot's own, made from results it
already read strictly; workers never send pickles, see `media.worker_protocol`.)

Why a score-less hit is a miss when a score is asked for: the explicit-image score is computed
only for servers that turned the check on. A file first seen in a server with it off is cached
without a score; when a server with it on sees the same file, it is hashed again with the
score, and that result replaces the cached one (its hashes are the same). A caller that did not
ask for a score gets none, whatever the cache holds, so a server with the check off never acts
on one.
"""

from __future__ import annotations

import hashlib
import pickle
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

import aiohttp

from core.phrases import phrase
from media.fetch import FetchError, FetchPolicy, fetch_media
from media.hashing import MediaHashes
from media.outcomes import Outcome
from media.preview import PreviewDetail
from media.workers import HashingPool, PoolBusy

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class MediaRef:
    """One piece of media in a message: an attachment, an embed image or video, a sticker."""

    key: str  # "attachment:<id>" or the proxy URL: what identifies the file before download
    url: str
    kind: str  # "attachment", "embed", "sticker"
    name: str = ""


@dataclass(frozen=True, slots=True)
class HashedMedia:
    ref: MediaRef
    hashes: MediaHashes
    data: bytes | None = None  # the bytes, when they were downloaded for this call
    cached: bool = False
    busy: bool = False  # UNFINISHED only because the pool had no room in time: worth a retry


class LRU(Generic[K, V]):
    """A small least-recently-used map."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class MediaPipeline:
    """Download with `policy`, hash in `pool`, remember the hashes."""

    CACHE_SIZE = 20_000  # about 2 KB of hashes each: tens of MB at most

    def __init__(
        self, session: aiohttp.ClientSession, pool: HashingPool, policy: FetchPolicy
    ) -> None:
        self.session = session
        self.pool = pool
        self.policy = policy
        self._by_key: LRU[str, bytes] = LRU(self.CACHE_SIZE)  # pickled MediaHashes
        self._by_digest: LRU[bytes, bytes] = LRU(self.CACHE_SIZE)

    async def fetch(self, ref: MediaRef) -> bytes:
        """The file's bytes (raises FetchError)."""
        return (await fetch_media(self.session, ref.url, self.policy)).data

    async def bytes_of(self, media: HashedMedia) -> bytes | None:
        """The file's bytes for a moment (a preview): those downloaded with its hashes, or
        downloaded again (a cached result has none); None when that fails."""
        if media.data is not None:
            return media.data
        try:
            return await self.fetch(media.ref)
        except FetchError:
            return None

    async def hash_ref(self, ref: MediaRef, *, explicit: bool = False) -> HashedMedia:
        """The hashes of the file `ref` points at (with `explicit`, its explicit-image score)."""
        hashes = self._cached(self._by_key.get(ref.key), explicit)
        if hashes is not None:
            return HashedMedia(ref, hashes, cached=True)
        try:
            data = await self.fetch(ref)
        except FetchError as exc:
            # Not cached: a download that failed for a passing reason may work next time.
            return HashedMedia(ref, MediaHashes.failed(exc.outcome, exc.reason))
        hashes, pickled = await self._hash(data, explicit)
        if pickled is not None:
            self._by_key.put(ref.key, pickled)
        return HashedMedia(ref, hashes, data, busy=self._turned_away(hashes, pickled))

    async def hash_ref_patiently(
        self,
        ref: MediaRef,
        attempts: int,
        on_busy: Callable[[HashedMedia, int], None] | None = None,
        *,
        explicit: bool = False,
    ) -> HashedMedia:
        """`hash_ref` (with `explicit`, the score too), tried again (up to `attempts` in all)
        while the pool turns it away.

        Between tries it waits for the pool to have room, so under a burst the caller slows down
        with the pool rather than losing the file; `on_busy(result, attempt)` hears of each try
        turned away. The last result is returned either way: still busy after every attempt, it
        is UNFINISHED with the pool's reason, for the caller to handle as its policy says.
        """
        for attempt in range(1, attempts + 1):
            result = await self.hash_ref(ref, explicit=explicit)
            if not result.busy:
                return result
            if on_busy is not None:
                on_busy(result, attempt)
            if attempt < attempts:
                await self.pool.wait_for_room()
        return result

    async def hash_for_entry(self, ref: MediaRef) -> tuple[MediaHashes, bytes | None]:
        """A file's hashes as a takedown entry keeps them (its frames, and a still image's crops
        and rotations), with its bytes for a preview; a failure is an outcome, never raised.

        Not cached: an entry is made once, and needs hashes the scan cache doesn't hold.
        """
        try:
            data = await self.fetch(ref)
        except FetchError as exc:
            return MediaHashes.failed(exc.outcome, exc.reason), None
        try:
            return await self.pool.entry_hashes(data), data
        except PoolBusy:
            busy = phrase("the bot is busy hashing other uploads; try again in a minute")
            return MediaHashes.failed(Outcome.UNFINISHED, busy), None

    async def hash_bytes(self, data: bytes, *, explicit: bool = False) -> MediaHashes:
        return (await self._hash(data, explicit))[0]

    async def preview_source(self, media: HashedMedia) -> PreviewDetail | bytes | None:
        """What `blurred_preview` makes a file's preview from: the pixels its hashing worker
        returned, or (a cached result has none) its bytes, downloaded again if need be; None
        when neither can be had. Ask before the message is deleted: its file goes with it."""
        if media.hashes.preview_detail is not None:
            return media.hashes.preview_detail
        return await self.bytes_of(media)

    async def blurred_preview(self, source: PreviewDetail | bytes) -> bytes | None:
        """The blurred preview an alert shows: blurred here from a worker's `PreviewDetail`, or
        made from the file's bytes in a worker (`HashingPool.blurred_preview`).

        None when the file can't be decoded in time, or when no worker had room for it within
        the pool's admission time: a preview is a courtesy, the alert goes without one.
        """
        if isinstance(source, PreviewDetail):
            return source.blurred()
        try:
            return await self.pool.blurred_preview(source)
        except PoolBusy:
            return None

    async def _hash(self, data: bytes, explicit: bool) -> tuple[MediaHashes, bytes | None]:
        """The hashes of `data` and their pickle, which both caches keep (made once).

        When the pool had no room for it in time, the result says so (UNFINISHED, with the
        pool's reason) and has no pickle: it is not cached, as it may fit next time.
        """
        # SHA-256: with the SHA instructions of today's server CPUs (AMD since Zen, Intel since
        # Ice Lake, ARMv8) twice as fast as BLAKE2 (0.13 ms against 0.26 for a 200 KiB photo,
        # on every upload the bot sees), and as collision-resistant.
        digest = hashlib.sha256(data).digest()
        pickled = self._by_digest.get(digest)
        hashes = self._cached(pickled, explicit)
        if pickled is not None and hashes is not None:
            return hashes, pickled
        try:
            hashes = await self.pool.hash_media(data, explicit=explicit)
        except PoolBusy as exc:
            return MediaHashes.failed(Outcome.UNFINISHED, exc.reason), None
        # Hashes only: the preview's pixels are for this scan, not for the caches.
        pickled = pickle.dumps(replace(hashes, preview_detail=None), pickle.HIGHEST_PROTOCOL)
        self._by_digest.put(digest, pickled)
        return hashes, pickled

    @staticmethod
    def _turned_away(hashes: MediaHashes, pickled: bytes | None) -> bool:
        # Only a result the pool never ran goes uncached while UNFINISHED: see `_hash`.
        return pickled is None and hashes.outcome is Outcome.UNFINISHED

    @staticmethod
    def _cached(pickled: bytes | None, explicit: bool) -> MediaHashes | None:
        """A cached result that answers this request, or None to hash the file (again)."""
        if pickled is None:
            return None
        hashes = _unpickled(pickled)
        if explicit and hashes.hashed and hashes.explicit_score is None:
            return None
        if not explicit and hashes.explicit_score is not None:
            return replace(hashes, explicit_score=None)
        return hashes


def _unpickled(pickled: bytes) -> MediaHashes:
    # Only this module puts bytes in the caches: pickles of MediaHashes it made itself.
    return pickle.loads(pickled)

"""The verified-token cache's two tiers: entries (objects) and the compact tier (bytes, bounded in
bytes), expiry, key-set generations."""

from __future__ import annotations

import hashlib

from gatehold.jose.cache import COMPACT_OVERHEAD, VerifiedTokenCache


def digest(i: int) -> bytes:
    return hashlib.sha256(str(i).encode()).digest()


def claims(i: int) -> dict[str, object]:
    return {"sub": f"client-{i}@clients", "scope": "read:unicorn", "exp": 2_000_000_000, "n": [i, {"x": 1.5}]}


def test_a_token_past_the_entries_is_answered_from_the_compact_tier() -> None:
    cache = VerifiedTokenCache(max_entries=3)
    for i in range(10):
        cache.put(digest(i), 100.0, claims(i), 0)
    assert len(cache) == 3
    assert cache.compact_entries == 10
    entry = cache.entry(digest(0), 50.0, 0)
    assert entry is not None
    assert entry.claims == claims(0)
    assert entry.expires_at == 100.0
    assert entry.derived is None  # per-token data is computed again
    assert cache.entry(digest(0), 50.0, 0) is not entry  # once: not an entry again yet
    again = cache.entry(digest(0), 50.0, 0)  # used again soon: an entry again
    assert again is not None
    assert cache.entry(digest(0), 50.0, 0) is again
    assert len(cache) == 3  # the oldest entry made room


def test_tokens_walked_through_once_each_do_not_turn_the_entries_over() -> None:
    cache = VerifiedTokenCache(max_entries=3)
    for i in range(10):
        cache.put(digest(i), 100.0, claims(i), 0)
    entries = set(cache._entries)
    for i in range(7):  # the ones no longer entries, once each
        assert cache.entry(digest(i), 50.0, 0) is not None
    assert set(cache._entries) == entries


def test_the_compact_tier_keeps_to_its_byte_budget_oldest_first() -> None:
    one = len(b"12345678") + len(b'{"sub":"client-0@clients"}') + COMPACT_OVERHEAD
    cache = VerifiedTokenCache(max_entries=1, max_bytes=5 * one + 10)
    for i in range(20):
        cache.put(digest(i), 100.0, {"sub": f"client-{i % 10}@clients"}, 0)
        assert cache.compact_bytes <= cache.max_bytes
    assert cache.compact_entries == 5
    assert cache.entry(digest(0), 50.0, 0) is None
    assert cache.entry(digest(19), 50.0, 0) is not None
    assert cache.entry(digest(15), 50.0, 0) is not None


def test_expired_and_other_generations_are_not_answered() -> None:
    cache = VerifiedTokenCache(max_entries=1)
    cache.put(digest(1), 100.0, claims(1), 0)
    cache.put(digest(2), 100.0, claims(2), 0)  # digest(1) is compact only now
    assert cache.entry(digest(1), 100.0, 0) is None  # at exp: gone
    assert cache.compact_entries == 1
    assert cache.entry(digest(2), 50.0, 1) is None  # the key set changed: everything goes
    assert cache.compact_entries == 0
    assert cache.compact_bytes == 0
    assert len(cache) == 0


def test_a_disabled_cache_holds_nothing() -> None:
    cache = VerifiedTokenCache(max_entries=0)
    assert cache.put(digest(1), 100.0, claims(1), 0) is None
    assert cache.entry(digest(1), 50.0, 0) is None
    assert cache.compact_entries == 0


def test_many_expired_digests_do_not_pile_up_in_the_order() -> None:
    cache = VerifiedTokenCache(max_entries=2)
    for i in range(1000):
        cache.put(digest(i), 10.0, claims(i), 0)
        assert cache.entry(digest(i - 1), 20.0, 0) is None  # expired: dropped on sight
    assert len(cache._compact_order) <= 2 * cache.compact_entries + 64
    assert len(cache._order) <= 2 * cache.max_entries + 64

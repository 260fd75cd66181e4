"""The in-process book of cache versions: replies and pushed messages in any order."""

from __future__ import annotations

from cmms.cache.versions import VersionBook

NAME = "cmms:v:1:assets"


def subscribed() -> VersionBook:
    book = VersionBook("test")
    book.on_subscribed()
    return book


def test_nothing_is_answered_before_the_channel_is_subscribed() -> None:
    book = VersionBook("test")
    book.learn(book.generation, 7, {NAME: 3})
    assert book.get(NAME) is None


def test_a_reply_older_than_a_message_never_lowers_the_version() -> None:
    book = subscribed()
    generation = book.generation  # a lookup begins
    book.on_message(f"7 {NAME}=4")  # a bump elsewhere arrives before the lookup's reply
    book.learn(generation, 7, {NAME: 3})
    assert book.get(NAME) == (7, 4)


def test_a_message_for_a_version_not_yet_looked_up_is_kept() -> None:
    book = subscribed()
    book.on_message(f"7 {NAME}=5 cmms:v:1:orders=2")
    assert book.get(NAME) == (7, 5)
    assert book.get("cmms:v:1:orders") == (7, 2)


def test_another_epoch_forgets_everything_and_a_reply_begun_before_is_dropped() -> None:
    book = subscribed()
    book.learn(book.generation, 7, {NAME: 3})
    generation = book.generation
    book.on_message("8")  # the epoch moved on
    assert book.get(NAME) is None
    book.learn(generation, 7, {NAME: 3})  # the reply of a lookup begun under the old epoch
    assert book.get(NAME) is None
    book.learn(book.generation, 8, {NAME: 0})
    assert book.get(NAME) == (8, 0)


def test_a_lost_channel_or_an_unreadable_message_stops_every_answer() -> None:
    book = subscribed()
    book.learn(book.generation, 7, {NAME: 3})
    book.on_message("garbage=")
    assert book.get(NAME) is None
    book.learn(book.generation, 7, {NAME: 3})
    book.on_lost()
    assert book.get(NAME) is None


def test_push_channels_are_named_by_redis_database() -> None:
    from cmms.cache.push import channel_name

    assert channel_name("cache", "redis://127.0.0.1:6379/15") == "cmms:push:cache:db15"
    assert channel_name("revoked", "redis://redis.internal:6379") == "cmms:push:revoked:db0"
    assert channel_name("cache", "unix:///tmp/cmms/redis.socket") == "cmms:push:cache:db0"  # embedded
    assert channel_name("cache", "unix:///tmp/r.sock?db=3") == "cmms:push:cache:db3"

"""The keyspace on its own, with a clock the test moves: lazy and active expiry, memory given back."""
import random

from hypothesis import given, settings, strategies as st

from storage.keyspace import ExpiryTable, Keyspace


class ManualClock:
    def __init__(self, now=1_700_000_000_000):
        self.now = now

    def __call__(self):
        return self.now


def make_keyspace():
    clock = ManualClock()
    return Keyspace(16, clock=clock), clock


def test_lazy_expiry_hides_a_key_once_its_deadline_passes():
    keyspace, clock = make_keyspace()
    db = keyspace[0]
    db.set(b"k", b"v")
    db.set_deadline(b"k", clock.now + 1000)
    assert db.lookup(b"k") == b"v"
    assert db.ttl_ms(b"k") == 1000
    clock.now += 1000
    assert db.lookup(b"k") is None
    assert len(db) == 0
    assert keyspace.expired_keys == 1
    assert db.ttl_ms(b"k") == -2


def test_set_clears_the_deadline_unless_keep_ttl():
    keyspace, clock = make_keyspace()
    db = keyspace[0]
    db.set(b"k", b"v")
    db.set_deadline(b"k", clock.now + 50)
    db.set(b"k", b"w", keep_ttl=True)
    assert db.ttl_ms(b"k") == 50
    db.set(b"k", b"x")
    assert db.ttl_ms(b"k") == -1
    clock.now += 100
    assert db.lookup(b"k") == b"x"


def test_active_cycle_reclaims_keys_nobody_reads():
    keyspace, clock = make_keyspace()
    db = keyspace[3]
    for number in range(50_000):
        key = b"key:%d" % number
        db.set(key, b"value")
        db.set_deadline(key, clock.now + 1000)
    db.set(b"forever", b"stays")
    clock.now += 1001
    for _ in range(200):
        if len(db) == 1:
            break
        keyspace.expire_cycle()
    assert len(db) == 1 and db.lookup(b"forever") == b"stays"
    assert len(db.expires) == 0
    assert keyspace.expired_keys == 50_000


def test_active_cycle_leaves_live_keys_alone():
    keyspace, clock = make_keyspace()
    db = keyspace[0]
    for number in range(1000):
        db.set(b"%d" % number, b"v")
        db.set_deadline(b"%d" % number, clock.now + 10_000)
    for _ in range(20):
        keyspace.expire_cycle()
    assert len(db) == 1000


def test_dict_is_rebuilt_after_mass_deletion():
    keyspace, _ = make_keyspace()
    db = keyspace[0]
    for number in range(10_000):
        db.set(b"%d" % number, b"v")
    for number in range(9_900):
        db.remove(b"%d" % number)
    before = db.data.__sizeof__()
    keyspace.expire_cycle()
    assert db.data.__sizeof__() < before / 10
    assert sorted(db.data) == sorted(b"%d" % n for n in range(9_900, 10_000))


def test_swap_is_seen_through_existing_database_objects():
    keyspace, _ = make_keyspace()
    first, second = keyspace[0], keyspace[1]
    first.set(b"a", b"from 0")
    second.set(b"b", b"from 1")
    keyspace.swap(0, 1)
    assert first.lookup(b"b") == b"from 1" and second.lookup(b"a") == b"from 0"


def test_random_key_skips_expired_keys():
    keyspace, clock = make_keyspace()
    db = keyspace[0]
    for number in range(100):
        db.set(b"dead%d" % number, b"v")
        db.set_deadline(b"dead%d" % number, clock.now + 1)
    db.set(b"alive", b"v")
    clock.now += 5
    # Each call answers the live key; the expired picks met on the way are deleted. One call may pick
    # the live key first (1 in 101), so make several: all 30 finding it first has odds of 1 in 10^60.
    assert [db.random_key() for _ in range(30)] == [b"alive"] * 30
    assert len(db) < 101


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 30)), max_size=200))
def test_expiry_table_matches_a_plain_dict(operations):
    table, model = ExpiryTable(), {}
    for add, key_number in operations:
        key = b"%d" % key_number
        if add:
            table.set(key, key_number)
            model[key] = key_number
        else:
            assert table.discard(key) == (model.pop(key, None) is not None)
        assert table.deadlines == model
        assert sorted(table._keys) == sorted(model)
        assert all(table._keys[table._slots[k]] == k for k in model)
    random.seed(1)
    assert set(table.sample(10)) <= set(model)


def test_active_expire_effort_accepts_fewer_stale_keys():
    """A fifth of 10,000 keys expired: at effort 1 a cycle stops once a sample of 20 is at most 10%
    expired (after a few dozen deletions), at effort 10 only when a sample of 65 has none (nearly all
    of them), as expire.c's config_cycle_acceptable_stale and keys_per_loop scale."""
    expired_by_effort = {}
    for effort in (1, 10):
        keyspace, clock = make_keyspace()
        db = keyspace[0]
        for number in range(10_000):
            db.set(b"key:%d" % number, b"value")
            db.set_deadline(b"key:%d" % number, clock.now + (1 if number % 5 == 0 else 10_000_000))
        clock.now += 2
        keyspace.expire_cycle(hz=1, effort=effort)  # a whole second's quarter: time never cuts it short
        expired_by_effort[effort] = keyspace.expired_keys
    assert expired_by_effort[1] < 400 < expired_by_effort[10]

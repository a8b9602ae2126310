"""The Lua scripts of the Redis store: each runs as one command, so nothing interleaves.

Every script touches only the keys it is given, and on a cluster all of them must hash to one
slot (``brain.store.redis_keys`` says which keys share a tag).
"""

from __future__ import annotations

SCRIPTS = {
    # SET NX succeeds only for the first copy of a message, and only that copy is appended.
    # KEYS[3]: the conversation's list of unfinished entry ids, in queue order (ARGV[4] '1').
    # ARGV[6]: a cluster's doorbell channel (brain/store/redis_doorbell.py), or none.
    "enqueue": """
        if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
        local id = redis.call('XADD', KEYS[2], '*', 'message', ARGV[2], 'conv', ARGV[3])
        if ARGV[4] == '1' then
          redis.call('RPUSH', KEYS[3], id)
          redis.call('PEXPIRE', KEYS[3], ARGV[5])
        end
        if ARGV[6] and ARGV[6] ~= '' then redis.call('PUBLISH', ARGV[6], '1') end
        return 1""",
    # The oldest unfinished entry of a conversation; ids whose entry is gone (acked without
    # the index, or lost with the stream) are dropped on the way.
    "head_of": """
        while true do
          local id = redis.call('LINDEX', KEYS[1], 0)
          if not id then return false end
          local rows = redis.call('XRANGE', KEYS[2], id, id)
          if #rows > 0 then return rows[1] end
          redis.call('LPOP', KEYS[1])
        end""",
    # KEYS: outbox, lock (fenced when ARGV[3] holds a token), stats. ARGV[4..]: counter
    # name/amount pairs, added only by the call that creates the record.
    "outbox_put": """
        if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[3] then return 0 end
        if redis.call('HSETNX', KEYS[1], 'messages', ARGV[1]) == 1 then
          redis.call('HSET', KEYS[1], 'sent_count', 0)
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          for i = 4, #ARGV, 2 do redis.call('HINCRBYFLOAT', KEYS[3], ARGV[i], ARGV[i + 1]) end
          if #ARGV > 3 then redis.call('PEXPIRE', KEYS[3], ARGV[2]) end
        end
        return redis.call('HMGET', KEYS[1], 'messages', 'sent_count', 'failures', 'dead')""",
    # The end of one message. KEYS: lock, outbox, stream, stats, the conversation's entry list.
    # ARGV: token ('' = unfenced), entry id, group, sent count ('' = none), retention ms,
    # '1' to drop the id from the conversation's list, '1' to release, counter pairs.
    "finish": """
        if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        if ARGV[4] ~= '' then
          local current = redis.call('HGET', KEYS[2], 'sent_count')
          if current and tonumber(current) < tonumber(ARGV[4]) then
            redis.call('HSET', KEYS[2], 'sent_count', ARGV[4])
          end
        end
        for i = 8, #ARGV, 2 do redis.call('HINCRBYFLOAT', KEYS[4], ARGV[i], ARGV[i + 1]) end
        if #ARGV > 7 then redis.call('PEXPIRE', KEYS[4], ARGV[5]) end
        redis.call('XACK', KEYS[3], ARGV[3], ARGV[2])
        redis.call('XDEL', KEYS[3], ARGV[2])
        if ARGV[6] == '1' then redis.call('LREM', KEYS[5], 1, ARGV[2]) end
        if ARGV[1] ~= '' and ARGV[7] == '1' then redis.call('DEL', KEYS[1]) end
        return 1""",
    # Both only touch a record that exists (a missing one must not become a hash without
    # messages and without a TTL).
    "outbox_failed": """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        return redis.call('HINCRBY', KEYS[1], 'failures', 1)""",
    "outbox_dead": """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        return redis.call('HSETNX', KEYS[1], 'dead', 1)""",
    # sent_count only grows (a stale update must not cause a resend), and a missing record
    # stays missing rather than becoming a hash without messages and without a TTL.
    "outbox_sent": """
        local current = redis.call('HGET', KEYS[1], 'sent_count')
        if current and tonumber(current) < tonumber(ARGV[1]) then
          redis.call('HSET', KEYS[1], 'sent_count', ARGV[1])
        end""",
    # Free, or left by our own consumer name before a restart (ARGV[3] owner prefix, ARGV[4]
    # this incarnation's prefix): the lock is ours.
    "lock_acquire": """
        local current = redis.call('GET', KEYS[1])
        if current then
          if ARGV[3] == '' or string.sub(current, 1, #ARGV[3]) ~= ARGV[3]
             or string.sub(current, 1, #ARGV[4]) == ARGV[4] then return 0 end
        end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return 1""",
    # Token bucket on the server's clock (replicas' clocks may differ). ARGV: rate per second,
    # burst, TTL ms. Returns the wait in seconds as a string (Lua numbers become integers).
    "take_token": """
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
        local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
        local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
        local tokens = tonumber(state[1]) or burst
        local at = tonumber(state[2]) or now
        tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
        local wait = 0
        if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
        redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        return tostring(wait)""",
    # A lock is renewed or released only while it still holds our token.
    "lock_renew": """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        return redis.call('PEXPIRE', KEYS[1], ARGV[2])""",
    "lock_release": """
        if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end""",
    # KEYS: meta hash (ref, updated_at, seq), turns list, turn-id zset. The ids are trimmed
    # with the list, so "already there" means "in the kept history", as with SQLite. The ref
    # (with its reply hints) follows the customer's latest message (ARGV[7] == '1').
    "append_turn": """
        if redis.call('ZSCORE', KEYS[3], ARGV[1]) then return 0 end
        local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
        redis.call('HSET', KEYS[1], 'updated_at', ARGV[4])
        if ARGV[7] == '1' or redis.call('HEXISTS', KEYS[1], 'ref') == 0 then
            redis.call('HSET', KEYS[1], 'ref', ARGV[3])
        end
        redis.call('RPUSH', KEYS[2], ARGV[2])
        redis.call('LTRIM', KEYS[2], -tonumber(ARGV[5]), -1)
        redis.call('ZADD', KEYS[3], seq, ARGV[1])
        redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -tonumber(ARGV[5]) - 1)
        for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, ARGV[6]) end
        return 1""",
    # The live replicas (partition affinity), on the server's clock: ARGV[1] joins (ARGV[3]
    # '1') or leaves, entries older than ARGV[2] ms are dropped. Returns the names left.
    "roster": """
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
        if ARGV[3] == '1' then redis.call('ZADD', KEYS[1], now, ARGV[1])
        else redis.call('ZREM', KEYS[1], ARGV[1]) end
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return redis.call('ZRANGE', KEYS[1], 0, -1)""",
}

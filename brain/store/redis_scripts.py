"""The Lua scripts of the Redis store: each runs as one command, so nothing interleaves.

Every script touches only the keys it is given, and on a cluster all of them must hash to one
slot (``brain.store.redis_keys`` says which keys share a tag).
"""

from __future__ import annotations

# Pieces several scripts share. The lock: free, held by this very token already (redis-py's
# cluster client resends a command whose connection broke mid-failover, and the first attempt
# may have run: without this the retry found "a live holder of this process" and the
# conversation waited out the TTL), or left by our own consumer name before a restart
# (ARGV[3] owner prefix, ARGV[4] this incarnation's prefix), so it is ours. A free lock (the
# usual case) is taken by the SET NX alone.
#
# Cost (redis-server's CPU is half of a message's on a small machine, bench/pipeline.py):
# every argument of ``redis.call`` that is a Lua number is formatted with ``%.14g`` on the
# way (about 2,000 instructions each on Redis 7.0), so numbers go in as strings: literals
# ('0', '-1'), the caller's strings, ``string.format('%d')`` for computed ones. And each
# ``redis.call`` costs some 4,000 instructions besides the command's own work, so calls that
# would change nothing are left out (the trims of a short history).
_TAKE_LOCK = """
        if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
          local current = redis.call('GET', KEYS[1])
          if current and current ~= ARGV[1] then
            if ARGV[3] == '' or string.sub(current, 1, #ARGV[3]) ~= ARGV[3]
               or string.sub(current, 1, #ARGV[4]) == ARGV[4] then return {0} end
          end
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        end"""
# One turn into a conversation's meta hash (ref, updated_at, seq), turns list and turn-id
# zset. The ids are trimmed with the list, so "already there" means "in the kept history", as
# with SQLite. The ref (with its reply hints) follows the customer's latest message.
_APPEND = """
        local function append(meta, turns, ids, id, payload, ref, at, limit, ttl, customer)
          if redis.call('ZSCORE', ids, id) then return 0 end
          local seq = redis.call('HINCRBY', meta, 'seq', '1')
          if customer == '1' or redis.call('HEXISTS', meta, 'ref') == 0 then
            redis.call('HSET', meta, 'updated_at', at, 'ref', ref)
          else
            redis.call('HSET', meta, 'updated_at', at)
          end
          local length = redis.call('RPUSH', turns, payload)
          redis.call('ZADD', ids, string.format('%d', seq), id)
          local keep = tonumber(limit)
          if length > keep then  -- the ids are never more than the turns
            redis.call('LTRIM', turns, '-' .. limit, '-1')
            redis.call('ZREMRANGEBYRANK', ids, '0', string.format('%d', -keep - 1))
            length = keep
          end
          redis.call('PEXPIRE', meta, ttl)
          redis.call('PEXPIRE', turns, ttl)
          redis.call('PEXPIRE', ids, ttl)
          return 1, seq, length
        end"""
# What the brain reads after a turn was appended (``context``): the conversation's ref and
# updated_at (unless the turn just appended was the customer's: then they are the caller's
# own), its history, its open-ticket pointer and (KEYS[from..]) key-value flags. The history
# is sent whole, or, when the caller says it holds the turns up to number ``held`` (the
# meta's ``seq`` counts every append; the list's last turn is number ``seq``), the last one
# ``held_id``, and that turn still has that number, only the turns after it and before the
# one just appended (brain/store/redis_history.py): the whole list crossed over and was
# parsed again for every message. Reply: {added, ref, updated_at, turns, pointer, flags,
# seq, length, since}: since is the number the turns follow ('' = the whole history).
_CONTEXT = """
        local function context(meta, turns, ids, pointer, from, customer, added, seq, length,
                               held, held_id)
          local ref, at = false, false
          if added ~= 1 or customer ~= '1' then
            local row = redis.call('HMGET', meta, 'ref', 'updated_at')
            ref, at = row[1], row[2]
          end
          local raws, since = nil, ''
          if added == 1 and held and held ~= '' and redis.call('ZSCORE', ids, held_id) == held then
            local new = seq - tonumber(held)
            if new >= 1 and new < length then
              since = held
              if new == 1 then raws = {}
              else raws = redis.call('LRANGE', turns, string.format('%d', -new), '-2') end
            end
          end
          if not raws then raws = redis.call('LRANGE', turns, '0', '-1') end
          local found = {added, ref, at, raws, redis.call('GET', pointer), false, seq or false,
                         length or false, since}
          if #KEYS >= from then found[6] = redis.call('MGET', unpack(KEYS, from, #KEYS)) end
          return found
        end"""
# Counter amounts into a stats hash: whole amounts with HINCRBY (HINCRBYFLOAT formats a long
# double, some 4,000 instructions), others, or a field holding a fraction (HINCRBY refuses
# it), with HINCRBYFLOAT. Both write a whole number the same way.
_COUNT = """
        local function count(stats, name, amount)
          local done = redis.pcall('HINCRBY', stats, name, amount)
          if type(done) == 'table' and done.err then
            redis.call('HINCRBYFLOAT', stats, name, amount)
          end
        end"""

# Lua text with shared pieces prepended: kept as written.
# fmt: off
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
          local id = redis.call('LINDEX', KEYS[1], '0')
          if not id then return false end
          local rows = redis.call('XRANGE', KEYS[2], id, id)
          if #rows > 0 then return rows[1] end
          redis.call('LPOP', KEYS[1])
        end""",
    # KEYS: outbox, lock (fenced when ARGV[3] holds a token), stats. ARGV[4..]: counter
    # name/amount pairs, added only by the call that creates the record. Returns 0 (lease
    # lost), {1} (created from ARGV[1]) or the record found (fields as outbox_get reads them).
    "outbox_put": _COUNT + """
        if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[3] then return 0 end
        if redis.call('HSETNX', KEYS[1], 'messages', ARGV[1]) == 1 then
          redis.call('HSET', KEYS[1], 'sent_count', '0')
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          for i = 4, #ARGV, 2 do count(KEYS[3], ARGV[i], ARGV[i + 1]) end
          if #ARGV > 3 then redis.call('PEXPIRE', KEYS[3], ARGV[2]) end
          return {1}  -- ours, as sent: nothing to read back
        end
        return redis.call('HMGET', KEYS[1], 'messages', 'sent_count', 'failures', 'dead')""",
    # The end of one message. KEYS: lock, outbox, stream, stats, the conversation's entry list.
    # ARGV: token ('' = unfenced), entry id, group, sent count ('' = none), retention ms,
    # '1' to drop the id from the conversation's list, '1' to release, counter pairs.
    "finish": _COUNT + """
        if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        if ARGV[4] ~= '' then
          local current = redis.call('HGET', KEYS[2], 'sent_count')
          if current and tonumber(current) < tonumber(ARGV[4]) then
            redis.call('HSET', KEYS[2], 'sent_count', ARGV[4])
          end
        end
        for i = 8, #ARGV, 2 do count(KEYS[4], ARGV[i], ARGV[i + 1]) end
        if #ARGV > 7 then redis.call('PEXPIRE', KEYS[4], ARGV[5]) end
        redis.call('XACK', KEYS[3], ARGV[3], ARGV[2])
        redis.call('XDEL', KEYS[3], ARGV[2])
        if ARGV[6] == '1' then redis.call('LREM', KEYS[5], '1', ARGV[2]) end
        if ARGV[1] ~= '' and ARGV[7] == '1' then redis.call('DEL', KEYS[1]) end
        return 1""",
    # Both only touch a record that exists (a missing one must not become a hash without
    # messages and without a TTL).
    "outbox_failed": """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        return redis.call('HINCRBY', KEYS[1], 'failures', '1')""",
    "outbox_dead": """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        return redis.call('HSETNX', KEYS[1], 'dead', '1')""",
    # sent_count only grows (a stale update must not cause a resend), and a missing record
    # stays missing rather than becoming a hash without messages and without a TTL.
    "outbox_sent": """
        local current = redis.call('HGET', KEYS[1], 'sent_count')
        if current and tonumber(current) < tonumber(ARGV[1]) then
          redis.call('HSET', KEYS[1], 'sent_count', ARGV[1])
        end""",
    "lock_acquire": _TAKE_LOCK + """
        return {1}""",
    # The lock, then (KEYS[2], KEYS[3]: the conversation's entry list, the stream) what
    # head_of would return, then, if the head is entry ARGV[5], what begin_turn does (KEYS[4..7]
    # and ARGV[7..15] as there, with the flags KEYS[8..] on one Redis): one round trip where
    # there were three. ARGV[6] '1': the caller has that entry's message already, so the head
    # comes back as {id} alone (its fields are the message, decoded by the read that took it).
    "lock_head": _APPEND + _CONTEXT + _TAKE_LOCK + """
        local head = false
        while true do
          local id = redis.call('LINDEX', KEYS[2], '0')
          if not id then break end
          local rows = redis.call('XRANGE', KEYS[3], id, id)
          if #rows > 0 then head = rows[1] break end
          redis.call('LPOP', KEYS[2])
        end
        if not head then return {1} end
        if #KEYS < 4 or head[1] ~= ARGV[5] then return {1, head} end
        local added, seq, length = append(KEYS[4], KEYS[5], KEYS[6], ARGV[7], ARGV[8], ARGV[9],
                                          ARGV[10], ARGV[11], ARGV[12], ARGV[13])
        local found = context(KEYS[4], KEYS[5], KEYS[6], KEYS[7], 8, ARGV[13], added, seq,
                              length, ARGV[14], ARGV[15])
        if ARGV[6] == '1' then head = {head[1]} end
        return {1, head, found}""",
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
    # KEYS: meta, turns, ids. ARGV: turn id, turn, ref, updated_at, limit, TTL ms, customer.
    # Returns {1, seq, length} (appended: the history's after it) or {0}.
    "append_turn": _APPEND + """
        return {append(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5],
                       ARGV[6], ARGV[7])}""",
    # append_turn, then the conversation and (KEYS[4]) its open-ticket pointer (``context``,
    # ARGV[8], ARGV[9]: the turns the caller holds). On a cluster the pointer (tag {tickets})
    # is in another slot: KEYS[4] is then a placeholder in the lane's slot (never written)
    # and the caller reads the pointer beside the script. On one Redis the key-value flags
    # to read come as KEYS[5..]; a cluster reads them beside the script too.
    "begin_turn": _APPEND + _CONTEXT + """
        local added, seq, length = append(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3],
                                          ARGV[4], ARGV[5], ARGV[6], ARGV[7])
        return context(KEYS[1], KEYS[2], KEYS[3], KEYS[4], 5, ARGV[7], added, seq, length,
                       ARGV[8], ARGV[9])""",
    # outbox_put (fenced) of the bot's reply with its turns, only while the open-ticket
    # pointer (KEYS[7]) is still ARGV[4] ('' none). KEYS: outbox, lock, stats, meta, turns,
    # ids, pointer. ARGV: messages, TTL ms, token, pointer, ref, updated_at, limit, number of
    # turns, (turn id, turn, customer) per turn, counter pairs. Returns {0} (lease lost),
    # {1, record} (decided before), {2, pointer} (a ticket may be open: nothing written) or
    # {3, turns appended, seq, length} (written: the record is ARGV[1], nothing sent yet;
    # seq and length those of the history after the last turn appended). Only where all
    # these keys share a slot (a cluster splits it: brain/store/redis_turns.py).
    "outbox_put_reply": _APPEND + _COUNT + """
        if redis.call('GET', KEYS[2]) ~= ARGV[3] then return {0} end
        local row = redis.call('HMGET', KEYS[1], 'messages', 'sent_count', 'failures', 'dead')
        if row[1] then return {1, row} end
        local pointer = redis.call('GET', KEYS[7])
        if (pointer or '') ~= ARGV[4] then return {2, pointer} end
        redis.call('HSET', KEYS[1], 'messages', ARGV[1], 'sent_count', '0')
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        local last = 8 + 3 * tonumber(ARGV[8])
        local appended, seq, length = 0, 0, 0
        for i = 9, last, 3 do
          local added, at, size = append(KEYS[4], KEYS[5], KEYS[6], ARGV[i], ARGV[i + 1],
                                         ARGV[5], ARGV[6], ARGV[7], ARGV[2], ARGV[i + 2])
          if added == 1 then appended, seq, length = appended + 1, at, size end
        end
        for i = last + 1, #ARGV, 2 do count(KEYS[3], ARGV[i], ARGV[i + 1]) end
        if #ARGV > last then redis.call('PEXPIRE', KEYS[3], ARGV[2]) end
        return {3, appended, seq, length}  -- ours, as sent: nothing to read back""",
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
    # KEYS: entries (zset scored by number, member [id, value]), id -> number hash, counter.
    # ARGV: entry id, value, retention ms, topic channel ('' = none), the log's name. The keys
    # share the log's own tag in the partitioned layout (brain/store/redis_keys.py).
    "log_append": """
        local seq = redis.call('HGET', KEYS[2], ARGV[1])
        if seq then
          local found = redis.call('ZRANGEBYSCORE', KEYS[1], seq, seq)
          return {tonumber(seq), found[1] or false, 0}
        end
        seq = redis.call('INCR', KEYS[3])
        local member = cjson.encode({ARGV[1], ARGV[2]})
        redis.call('ZADD', KEYS[1], seq, member)
        redis.call('HSET', KEYS[2], ARGV[1], seq)
        for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, ARGV[3]) end
        if ARGV[4] ~= '' then
          redis.call('PUBLISH', ARGV[4], cjson.encode({ARGV[5], seq, ARGV[1], ARGV[2]}))
        end
        return {seq, false, 1}""",
}
# fmt: on

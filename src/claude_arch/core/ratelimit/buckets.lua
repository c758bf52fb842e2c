-- claude-arch rate limiter: the RPM + ITPM + OTPM buckets of one (scope, family), in one hash.
-- Same arithmetic as buckets.py: capacity c per minute, continuous refill at c/60 per second,
-- all three taken or none. Time is the Redis server's TIME, so clients with skewed clocks agree.
--
-- KEYS[1]  the bucket hash: l1 l2 l3 (levels), c1 c2 c3 (capacities they were computed with),
--          ts (time of the levels), pu (paused until), o1 o2 o3 (offsets: l + o is a bucket's
--          flow, what refill, takes and refunds alone made of it), ep (when the hash was made:
--          flows compare only within one), k1 k2 k3 (limits a process learned from the API)
-- ARGV     op, c1, c2, c3, learned, a1, a2, a3 [, ep, m1, m2, m3, r1, r2, r3]
--   learned  1: c are the API's limits (from response headers), stored as k for the others;
--            0: c are configured (a tier preset), and a lower k learned by another process wins
--   take   a = requests, input tokens, output tokens
--          -> {1, ep, f1, f2, f3, c1, c2, c3} admitted (f: flows after the take, the marks)
--          |  {0, wait_seconds, c1, c2, c3}
--   give   a = 0, input delta, output delta (+ refund, - charge)             -> {1}
--          with ep, m (a reservation's marks) and r (what its answer said was left, -1: not
--          said): each bucket above r + (flow - m) comes down to it, never below zero
--   pause  a1 = seconds                                                    -> {1}
--   peek                                          -> {1, l1, l2, l3, paused_for, c1, c2, c3}
-- The hash expires once every bucket would be full again (an absent hash means full buckets),
-- or an hour after the last write when it holds learned limits.

local key = KEYS[1]
local op = ARGV[1]
local cap = {tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])}
local learned = ARGV[5] == '1'
local amt = {tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])}
local LEARNED_TTL_MS = 3600000

local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000

local s = redis.call('HMGET', key, 'l1', 'l2', 'l3', 'c1', 'c2', 'c3', 'ts', 'pu',
  'o1', 'o2', 'o3', 'ep', 'k1', 'k2', 'k3')
local stamp = tonumber(s[7]) or now
local paused = tonumber(s[8]) or 0
local epoch = s[12]
local known = s[13]
local elapsed = now - stamp
if elapsed < 0 then
  elapsed = 0
else
  stamp = now
end

if not learned and known then
  for k = 1, 3 do
    local kk = tonumber(s[12 + k])
    if kk and kk < cap[k] then
      cap[k] = kk
    end
  end
end

local function fmt(x)
  return string.format('%.17g', x)
end

local lvl = {}
local off = {}
local fresh = false
for k = 1, 3 do
  local c = cap[k]
  local l = tonumber(s[k])
  local o = tonumber(s[8 + k]) or 0
  if l == nil then
    l = c
    o = 0
    fresh = true
  else
    local old = tonumber(s[3 + k]) or c
    l = l + elapsed * old / 60
    if l > old then
      o = o + (l - old)
      l = old
    end
    -- a learned capacity keeps what is in use, as Bucket.resize does
    local resized = math.min(c, c - (old - l))
    o = o + (l - resized)
    l = resized
  end
  lvl[k] = l
  off[k] = o
end
if fresh or not epoch then
  epoch = fmt(now)
  for k = 1, 3 do
    off[k] = 0
  end
end

if op == 'take' then
  local wait = 0
  if paused > now then
    wait = paused - now
  else
    for k = 1, 3 do
      if amt[k] > lvl[k] then
        wait = math.max(wait, (amt[k] - lvl[k]) * 60 / cap[k])
      end
    end
  end
  if wait > 0 then
    return {0, fmt(wait), cap[1], cap[2], cap[3]}
  end
  for k = 1, 3 do
    lvl[k] = lvl[k] - amt[k]
  end
elseif op == 'give' then
  for k = 1, 3 do
    local l = lvl[k] + amt[k]
    if l > cap[k] then
      off[k] = off[k] + (l - cap[k])
      l = cap[k]
    end
    lvl[k] = l
  end
  if #ARGV >= 15 and ARGV[9] == epoch then
    for k = 1, 3 do
      local r = tonumber(ARGV[12 + k])
      if r and r >= 0 and lvl[k] > 0 then
        local target = r + (lvl[k] + off[k]) - tonumber(ARGV[9 + k])
        if target < lvl[k] then
          if target < 0 then
            target = 0
          end
          off[k] = off[k] + (lvl[k] - target)
          lvl[k] = target
        end
      end
    end
  end
elseif op == 'pause' then
  paused = math.max(paused, now + amt[1])
elseif op == 'peek' then
  return {1, fmt(lvl[1]), fmt(lvl[2]), fmt(lvl[3]), fmt(math.max(0, paused - now)),
    cap[1], cap[2], cap[3]}
else
  return redis.error_reply('unknown op ' .. tostring(op))
end

local ttl = math.max(0, paused - now)
for k = 1, 3 do
  ttl = math.max(ttl, (cap[k] - lvl[k]) * 60 / cap[k])
end
local ttl_ms = math.ceil(ttl * 1000) + 1000
if learned then
  redis.call('HSET', key, 'l1', fmt(lvl[1]), 'l2', fmt(lvl[2]), 'l3', fmt(lvl[3]),
    'c1', fmt(cap[1]), 'c2', fmt(cap[2]), 'c3', fmt(cap[3]), 'ts', fmt(stamp), 'pu', fmt(paused),
    'o1', fmt(off[1]), 'o2', fmt(off[2]), 'o3', fmt(off[3]), 'ep', epoch,
    'k1', fmt(cap[1]), 'k2', fmt(cap[2]), 'k3', fmt(cap[3]))
  ttl_ms = math.max(ttl_ms, LEARNED_TTL_MS)
else
  redis.call('HSET', key, 'l1', fmt(lvl[1]), 'l2', fmt(lvl[2]), 'l3', fmt(lvl[3]),
    'c1', fmt(cap[1]), 'c2', fmt(cap[2]), 'c3', fmt(cap[3]), 'ts', fmt(stamp), 'pu', fmt(paused),
    'o1', fmt(off[1]), 'o2', fmt(off[2]), 'o3', fmt(off[3]), 'ep', epoch)
  if known then
    ttl_ms = math.max(ttl_ms, LEARNED_TTL_MS)
  end
end
redis.call('PEXPIRE', key, ttl_ms)
if op == 'take' then
  return {1, epoch, fmt(lvl[1] + off[1]), fmt(lvl[2] + off[2]), fmt(lvl[3] + off[3]),
    cap[1], cap[2], cap[3]}
end
return {1}

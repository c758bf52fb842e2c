-- claude-arch rate limiter: the RPM + ITPM + OTPM buckets of one (scope, family), in one hash.
-- Same arithmetic as buckets.py: capacity c per minute, continuous refill at c/60 per second,
-- all three taken or none. Time is the Redis server's TIME, so clients with skewed clocks agree.
--
-- KEYS[1]  the bucket hash: l1 l2 l3 (levels), c1 c2 c3 (capacities they were computed with),
--          ts (time of the levels), pu (paused until)
-- ARGV     op, c1, c2, c3, a1, a2, a3
--   take   a = requests, input tokens, output tokens   -> {1} admitted | {0, wait_seconds}
--   give   a = 0, input delta, output delta (+ refund, - charge) -> {1}
--   pause  a1 = seconds                                -> {1}
--   peek                                               -> {1, l1, l2, l3, paused_for}
-- The hash expires once every bucket would be full again (an absent hash means full buckets).

local key = KEYS[1]
local op = ARGV[1]
local cap = {tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])}
local amt = {tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])}

local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000

local s = redis.call('HMGET', key, 'l1', 'l2', 'l3', 'c1', 'c2', 'c3', 'ts', 'pu')
local stamp = tonumber(s[7]) or now
local paused = tonumber(s[8]) or 0
local elapsed = now - stamp
if elapsed < 0 then
  elapsed = 0
else
  stamp = now
end

local lvl = {}
for k = 1, 3 do
  local c = cap[k]
  local l = tonumber(s[k])
  if l == nil then
    l = c
  else
    local old = tonumber(s[3 + k]) or c
    l = math.min(old, l + elapsed * old / 60)
    -- a learned capacity keeps what is in use, as Bucket.resize does
    l = math.min(c, c - (old - l))
  end
  lvl[k] = l
end

local function fmt(x)
  return string.format('%.17g', x)
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
    return {0, fmt(wait)}
  end
  for k = 1, 3 do
    lvl[k] = lvl[k] - amt[k]
  end
elseif op == 'give' then
  for k = 1, 3 do
    lvl[k] = math.min(cap[k], lvl[k] + amt[k])
  end
elseif op == 'pause' then
  paused = math.max(paused, now + amt[1])
elseif op == 'peek' then
  return {1, fmt(lvl[1]), fmt(lvl[2]), fmt(lvl[3]), fmt(math.max(0, paused - now))}
else
  return redis.error_reply('unknown op ' .. tostring(op))
end

local ttl = math.max(0, paused - now)
for k = 1, 3 do
  ttl = math.max(ttl, (cap[k] - lvl[k]) * 60 / cap[k])
end
redis.call('HSET', key, 'l1', fmt(lvl[1]), 'l2', fmt(lvl[2]), 'l3', fmt(lvl[3]),
  'c1', fmt(cap[1]), 'c2', fmt(cap[2]), 'c3', fmt(cap[3]), 'ts', fmt(stamp), 'pu', fmt(paused))
redis.call('PEXPIRE', key, math.ceil(ttl * 1000) + 1000)
return {1}

package redis

import (
	"context"
	"crypto/sha1"
	"encoding/hex"

	"github.com/redis/rueidis"
)

// The Lua scripts run where a step must read and then write atomically.
// Every key a script touches is in one hash slot: the value keys of a
// shard and the shard's index share the shard's hash tag (see shard.go).
// Plain writes (Set, Add, Delete) are MULTI/EXEC transactions instead,
// which cost the server less than a script (bench/redis, BenchmarkSetPath).

// incrScript adds ARGV[1] to the integer under KEYS[1] if the key exists,
// keeping its TTL; a missing key returns nil rather than being created.
// It returns the new value as the stored text: a Lua number is a double,
// which would round results beyond 2^53.
var incrScript = newScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('INCRBY', KEYS[1], ARGV[1])
return redis.call('GET', KEYS[1])`)

// casScript stores ARGV[1] under KEYS[1] for ARGV[2] ms (0: no expiry)
// and files ARGV[3] in the index KEYS[2], only if the key holds exactly
// ARGV[4].
var casScript = newScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[4] then return 0 end
if ARGV[2] == '0' then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
redis.call('ZADD', KEYS[2], 0, ARGV[3])
return 1`)

// persistScript removes the TTL of KEYS[1] and reports whether the key
// exists (PERSIST alone answers 0 for a key without a TTL too).
var persistScript = newScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('PERSIST', KEYS[1])
return 1`)

// deleteRangeScript deletes up to ARGV[3] of the keys filed in the index
// KEYS[1] between the lexical bounds ARGV[1] and ARGV[2] (each value key
// is ARGV[4] .. member), unfiles them, and returns {deleted, visited}:
// how many of them existed and how many members it took. A caller
// repeats it while visited equals the limit.
var deleteRangeScript = newScript(`
local members = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local deleted = 0
local chunk = {}
for i, m in ipairs(members) do
  chunk[#chunk + 1] = ARGV[4] .. m
  if #chunk == 256 or i == #members then
    deleted = deleted + redis.call('UNLINK', unpack(chunk))
    chunk = {}
  end
end
for i = 1, #members, 256 do
  redis.call('ZREM', KEYS[1], unpack(members, i, math.min(i + 255, #members)))
end
return {deleted, #members}`)

// scanRangeScript returns the live keys among up to ARGV[3] members of the
// index KEYS[1] between the lexical bounds ARGV[1] and ARGV[2] (value key
// ARGV[4] .. member), as {live, last member visited, visited}.
var scanRangeScript = newScript(`
local members = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local live = {}
for _, m in ipairs(members) do
  if redis.call('EXISTS', ARGV[4] .. m) == 1 then live[#live + 1] = m end
end
return {live, members[#members] or '', #members}`)

// sweepScript unfiles, from the index KEYS[1], the members among the next
// ARGV[2] after ARGV[1] (” = from the start) whose value key
// (ARGV[3] .. member) no longer exists: expired, evicted or deleted
// around the index. It returns the member to continue after, or ” when
// it reached the end.
var sweepScript = newScript(`
local from = '-'
if ARGV[1] ~= '' then from = '(' .. ARGV[1] end
local members = redis.call('ZRANGEBYLEX', KEYS[1], from, '+', 'LIMIT', 0, tonumber(ARGV[2]))
local gone = {}
for _, m in ipairs(members) do
  if redis.call('EXISTS', ARGV[3] .. m) == 0 then gone[#gone + 1] = m end
end
if #gone > 0 then redis.call('ZREM', KEYS[1], unpack(gone)) end
if #members < tonumber(ARGV[2]) then return '' end
return members[#members]`)

// A script is a Lua script with its SHA-1, so that several calls can be
// pipelined as EVALSHA.
type script struct {
	lua *rueidis.Lua
	src string
	sha string
}

func newScript(src string) *script {
	sum := sha1.Sum([]byte(src))
	return &script{lua: rueidis.NewLuaScript(src), src: src, sha: hex.EncodeToString(sum[:])}
}

// exec runs the script once: EVALSHA, then EVAL if the server does not
// know the script (NOSCRIPT, after a restart say).
func (s *script) exec(ctx context.Context, c rueidis.Client, keys, args []string) rueidis.RedisResult {
	return s.lua.Exec(ctx, c, keys, args)
}

// cmd builds the EVALSHA of one call, for a pipeline.
func (s *script) cmd(c rueidis.Client, e rueidis.LuaExec) rueidis.Completed {
	return c.B().Evalsha().Sha1(s.sha).Numkeys(int64(len(e.Keys))).Key(e.Keys...).Arg(e.Args...).Build()
}

// execMulti runs the script once per exec in one round trip (per node)
// and returns the results in order. It sends EVALSHA; if a server answers
// NOSCRIPT (it restarted, or flushed its scripts), it loads the script on
// every node and repeats, in one more round trip, only the calls that
// failed so. (rueidis's Lua.ExecMulti would load the script on every node
// before every batch.)
func (s *script) execMulti(ctx context.Context, c rueidis.Client, execs []rueidis.LuaExec) []rueidis.RedisResult {
	cmds := make(rueidis.Commands, len(execs))
	for i, e := range execs {
		cmds[i] = s.cmd(c, e)
	}
	res := c.DoMulti(ctx, cmds...)
	var again []int
	for i, r := range res {
		if noScript(r.Error()) {
			again = append(again, i)
		}
	}
	if len(again) == 0 {
		return res
	}
	for _, n := range c.Nodes() {
		if err := n.Do(ctx, n.B().ScriptLoad().Script(s.src).Build()).Error(); err != nil {
			return res
		}
	}
	cmds = cmds[:0]
	for _, i := range again {
		cmds = append(cmds, s.cmd(c, execs[i]))
	}
	for j, r := range c.DoMulti(ctx, cmds...) {
		res[again[j]] = r
	}
	return res
}

// noScript reports whether err is a server's NOSCRIPT answer.
func noScript(err error) bool {
	re, ok := rueidis.IsRedisErr(err)
	return ok && re.IsNoScript()
}

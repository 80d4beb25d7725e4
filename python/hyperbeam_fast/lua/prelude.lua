-- The Luerl-compatibility and sandbox prelude of lua@5.3a (docs/lua.md).
-- Run once in every fresh C Lua 5.3 state, before any module. It replaces what Luerl 1.3.0
-- (HyperBEAM dev_lua's VM) does differently where programs can see it, removes what could reach
-- the host, and returns the host-only controls (never reachable from _G).
local host = ...
local raw_next, raw_type, raw_tostring, raw_tonumber = next, type, tostring, tonumber
local raw_rawget, raw_select, raw_error, raw_pcall, raw_xpcall = rawget, select, error, pcall, xpcall
local raw_load, raw_setmetatable = load, setmetatable
local math_type, math_floor, math_abs = math.type, math.floor, math.abs
local raw_format, str_find, str_gsub, str_sub, str_rep, str_byte = string.format, string.find, string.gsub, string.sub, string.rep, string.byte
local raw_concat, raw_sort, tbl_unpack = table.concat, table.sort, table.unpack
local raw_date = os.date
local dbg = debug
local str_pack, str_unpack, str_dump = string.pack, string.unpack, string.dump
local raw_gc, raw_rawset = collectgarbage, rawset
local utf8_len = utf8.len
os.setlocale("C", "collate")  -- string order is bytewise, as in Luerl, whatever the host's locale
local dbg_getmetatable = dbg.getmetatable
local loaded = package.loaded
local G = _G

-- ---- limits: an instruction budget (a count hook) and the memory cap (lupa's max_memory) ----
local LIMIT = "lua@5.3a: instruction limit exceeded"
local steps, budget, tripped = 0, math.huge, nil
local function hook()
  steps = steps + 1
  if steps > budget then
    tripped = tripped or LIMIT
    raw_error(LIMIT, 0)
  end
end
dbg.sethook(hook, "", 1000)

local function fatal(e)
  if tripped then return true end
  if e == "not enough memory" then tripped = e; return true end
  return false
end

-- pcall/xpcall cannot swallow a limit: the slot ends with it.
local function pack(...) return {n = raw_select('#', ...), ...} end
function G.pcall(f, ...)
  local r = pack(raw_pcall(f, ...))
  if not r[1] and fatal(r[2]) then raw_error(tripped, 0) end
  return tbl_unpack(r, 1, r.n)
end
function G.xpcall(f, h, ...)
  local r = pack(raw_xpcall(f, function(e) if fatal(e) then return e end return h(e) end, ...))
  if not r[1] and tripped then raw_error(tripped, 0) end
  return tbl_unpack(r, 1, r.n)
end

-- ---- deterministic identities (no addresses in results) ----
local ids = raw_setmetatable({}, {__mode = "k"})
local last_id = 0
local function objid(o)
  local i = ids[o]
  if i == nil then last_id = last_id + 1; i = last_id; ids[o] = i end
  return i
end

-- ---- numbers as Luerl prints them (Erlang's shortest round-trip float format) ----
local function fmt_float(x)
  if x ~= x then return "nan" end
  if x == 1/0 then return "inf" elseif x == -1/0 then return "-inf" end
  if x == 0 then if 1/x < 0 then return "-0.0" end return "0.0" end
  local s
  for p = 0, 16 do
    s = raw_format("%." .. p .. "e", x)
    if raw_tonumber(s) == x then break end
  end
  local neg = str_sub(s, 1, 1) == "-"
  if neg then s = str_sub(s, 2) end
  local mant, e = s:match("^([%d%.]+)e([-+]%d+)$")
  local digits = str_gsub(mant, "%.", "")
  digits = str_gsub(digits, "0+$", "")
  if digits == "" then digits = "0" end
  local L = #digits
  local place = raw_tonumber(e) + 1
  local out
  local expl = raw_tostring(place - 1)
  local function sci()
    if L == 1 then return digits .. ".0e" .. expl end
    return str_sub(digits, 1, 1) .. "." .. str_sub(digits, 2) .. "e" .. expl
  end
  if place == 0 then
    out = "0." .. digits
  elseif place < 0 then
    if -place <= #expl + 2 then out = "0." .. str_rep("0", -place) .. digits else out = sci() end
  elseif place < L then
    out = str_sub(digits, 1, place) .. "." .. str_sub(digits, place + 1)
  else
    local zeros = place - L
    local dot = (L == 1) and 1 or 0
    if zeros <= #expl + 2 + dot and math_abs(x) < 9007199254740992.0 then
      out = digits .. str_rep("0", zeros) .. ".0"
    else
      out = sci()
    end
  end
  if neg then return "-" .. out end
  return out
end

local function tostr(v)
  local t = raw_type(v)
  if t == "number" then
    if math_type(v) == "float" then return fmt_float(v) end
    return raw_tostring(v)
  elseif t == "string" or t == "boolean" or t == "nil" then
    return raw_tostring(v)
  end
  local mt = dbg_getmetatable(v)
  if mt ~= nil then
    local ts = raw_rawget(mt, "__tostring")
    if ts ~= nil then
      local s = ts(v)
      if raw_type(s) ~= "string" then raw_error("'__tostring' must return a string", 0) end
      return s
    end
    local name = raw_rawget(mt, "__name")
    if raw_type(name) == "string" then t = name end
  end
  return t .. ": 0x" .. raw_format("%08x", objid(v))
end
G.tostring = tostr

-- ---- string.format with Erlang's ~e/~g (Luerl) and no addresses for %s ----
local function erl_e(x, p)  -- p significant digits, exponent without padding
  local s = raw_format("%." .. (p > 1 and p - 1 or 0) .. "e", x)
  return (str_gsub(s, "e([-+])0*(%d)", "e%1%2"))
end
local function erl_g(x, p)
  local a = math_abs(x)
  local e
  if a < 0.1 then e = -2 elseif a < 1 then e = -1 elseif a < 10 then e = 0
  elseif a < 100 then e = 1 elseif a < 1000 then e = 2 elseif a < 10000 then e = 3 end
  if e ~= nil and ((p <= 1 and e == -1) or (p - 1 > e and e >= -1)) then
    return raw_format("%." .. (p - 1 - e) .. "f", x)
  end
  return erl_e(x, p)
end
local function needs_slow(f, n, ...)
  if str_find(f, "%%[-+ #0]*%d*%.?%d*[eEgGaA]") then return true end
  for i = 1, n do
    local v = raw_select(i, ...)
    local t = raw_type(v)
    if t ~= "string" and (t ~= "number" or math_type(v) == "float") then return true end
  end
  return false
end
function string.format(f, ...)
  local n = raw_select('#', ...)
  if raw_type(f) ~= "string" or not needs_slow(f, n, ...) then return raw_format(f, ...) end
  local args = {...}
  local out, o, i, ai = {}, 0, 1, 0
  while true do
    local s, e, flags, width, prec, conv = str_find(f, "%%([-+ #0]*)(%d*)(%.?%d*)(.)", i)
    if s == nil then o = o + 1; out[o] = str_sub(f, i); break end
    o = o + 1; out[o] = str_sub(f, i, s - 1)
    local piece
    if conv == "%" then
      piece = "%"
    else
      ai = ai + 1
      local v = args[ai]
      if conv == "e" or conv == "E" or conv == "g" or conv == "G" then
        local x = raw_tonumber(v)
        if x == nil then raw_error("bad argument #" .. ai .. " to 'format' (number expected)", 0) end
        local p = raw_tonumber(str_sub(prec, 2))
        if conv == "e" or conv == "E" then piece = erl_e(x + 0.0, (p or 6) + 1)
        else piece = erl_g(x + 0.0, (p == nil and 6) or (p == 0 and 1) or p) end
        if conv == "E" or conv == "G" then piece = piece:upper() end
        piece = raw_format("%" .. str_gsub(flags, "[^-]", "") .. width .. "s", piece)
      elseif conv == "a" or conv == "A" then
        raw_error("bad argument '%" .. conv .. "'," .. tostr(v) .. " to 'format'", 0)
      elseif conv == "s" then
        piece = raw_format("%" .. flags .. width .. prec .. "s", tostr(v))
      else
        piece = raw_format("%" .. flags .. width .. prec .. conv, v)
      end
    end
    o = o + 1; out[o] = piece
    i = e + 1
  end
  return raw_concat(out)
end

-- table.concat prints floats as tostring does
function table.concat(t, sep, i, j)
  i = i or 1
  j = j or #t
  for k = i, j do
    local v = t[k]
    if math_type(v) == "float" then
      local c = {}
      for m = i, j do
        local w = t[m]
        if math_type(w) == "float" then w = fmt_float(w) end
        c[m - i + 1] = w
      end
      return raw_concat(c, sep or "")
    end
  end
  return raw_concat(t, sep, i, j)
end

-- ---- Luerl's select('#') (a float), tonumber of strings (floats), error (no position) ----
function G.select(n, ...)
  if n == "#" then return raw_select("#", ...) + 0.0 end
  return raw_select(n, ...)
end
function G.tonumber(v, base)
  local r
  if base == nil then r = raw_tonumber(v) else r = raw_tonumber(v, base) end
  if r ~= nil and raw_type(v) == "string" then return r + 0.0 end
  return r
end
function G.error(v) raw_error(v, 0) end

-- ---- iteration in key order (Luerl's tables: the array part, then keys in Erlang term
-- order: numbers, booleans, tables/functions (creation order), strings bytewise) ----
local class = {number = 0, boolean = 1, string = 3}
local function key_less(a, b)
  local ca, cb = class[raw_type(a)] or 2, class[raw_type(b)] or 2
  if ca ~= cb then return ca < cb end
  if ca == 0 or ca == 3 then return a < b end
  if ca == 1 then return (not a) and b end
  return objid(a) < objid(b)
end
local function sorted_keys(t)
  local keys, m = {}, 0
  while raw_rawget(t, m + 1) ~= nil do m = m + 1; keys[m] = m end
  local rest, r = {}, 0
  for k in raw_next, t do
    if not (math_type(k) == "integer" and k >= 1 and k <= m) then r = r + 1; rest[r] = k end
  end
  if r > 1 then raw_sort(rest, key_less) end
  for q = 1, r do keys[m + q] = rest[q] end
  return keys
end
local orders = raw_setmetatable({}, {__mode = "k"})
local function first_key(t)
  if raw_rawget(t, 1) ~= nil then return 1 end
  local best = nil
  for k in raw_next, t do
    if best == nil or key_less(k, best) then best = k end
  end
  return best
end
local function det_next(t, k)
  if raw_type(t) ~= "table" then raw_error("bad argument #1 to 'next' (table expected)", 0) end
  if k == nil then
    orders[t] = nil
    local f = first_key(t)
    if f == nil then return nil end
    return f, raw_rawget(t, f)
  end
  local o = orders[t]
  if o == nil or o.pos[k] == nil then
    local keys = sorted_keys(t)
    local pos = {}
    for q = 1, #keys do pos[keys[q]] = q end
    o = {keys = keys, pos = pos}
    orders[t] = o
  end
  local q = o.pos[k]
  if q == nil then raw_error("invalid key to 'next'", 0) end
  local keys = o.keys
  while true do
    q = q + 1
    local nk = keys[q]
    if nk == nil then return nil end
    local v = raw_rawget(t, nk)
    if v ~= nil then return nk, v end
  end
end
G.next = det_next
function G.pairs(t)
  local mt = dbg_getmetatable(t)
  local mp = mt and raw_rawget(mt, "__pairs")
  if mp then
    local a, b, c = mp(t)
    return a, b, c
  end
  if raw_type(t) ~= "table" then raw_error("bad argument #1 to 'pairs' (table expected)", 0) end
  local keys = sorted_keys(t)
  local q = 0
  return function()
    while true do
      q = q + 1
      local k = keys[q]
      if k == nil then return nil end
      local v = raw_rawget(t, k)
      if v ~= nil then return k, v end
    end
  end, t, nil
end

-- ---- deterministic math.random (xorshift64*, seed 0 until math.randomseed) ----
local rs = 88172645463325252
function math.randomseed(x) rs = (math_floor(raw_tonumber(x) or 0) ~ 88172645463325252); if rs == 0 then rs = 1 end end
local function rnext()
  rs = rs ~ (rs << 13); rs = rs ~ (rs >> 7); rs = rs ~ (rs << 17)
  return rs
end
function math.random(m, n)
  local f = ((rnext() >> 11) + 0.0) / 9007199254740992.0
  if m == nil then return f end
  if n == nil then m, n = 1, m end
  m, n = math_floor(m), math_floor(n)
  if m > n then raw_error("bad argument to 'random' (interval is empty)", 0) end
  return m + math_floor(f * (n - m + 1))
end
math.huge = 1.7976931348623157e308
math.ult = nil

-- ---- libraries as Luerl has them; nothing that reaches files, processes or the host ----
G.coroutine = nil; loaded.coroutine = nil
string.pack, string.unpack, string.packsize, string.dump = nil, nil, nil, nil
table.move = nil
G.unpack = tbl_unpack
G.collectgarbage = function() end
G.print = function() end
local function nofile(name) return function() raw_error(name .. ": no file access", 0) end end
G.dofile, G.loadfile = nofile("dofile"), nofile("loadfile")
function G.load(chunk, name, mode, env)  -- text only; like Luerl, env is not used
  if name ~= nil then name = tostr(name) end
  return raw_load(chunk, name, "t")
end
G.loadstring = G.load
local function unavailable(name) return function() raw_error(name .. " is not available", 0) end end
local os_t = {
  time = function(t)
    if t == nil then return 0 end
    local y, mo, d = t.year, t.month, t.day
    y = (mo <= 2) and y - 1 or y
    local era = (y >= 0 and y or y - 399) // 400
    local yoe = y - era * 400
    local doy = (153 * (mo + (mo > 2 and -3 or 9)) + 2) // 5 + d - 1
    local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    local days = era * 146097 + doe - 719468
    return days * 86400 + (t.hour or 12) * 3600 + (t.min or 0) * 60 + (t.sec or 0)
  end,
  clock = function() return 0.0 end,
  date = function(f, t)
    f = f or "%c"
    local bang = str_sub(f, 1, 1) == "!"
    local r = raw_date("!" .. (bang and str_sub(f, 2) or f), t or 0)
    if bang and raw_type(r) == "string" then return "!" .. r end
    return r
  end,
  difftime = function(a, b) return (a - (b or 0)) + 0.0 end,
  getenv = function() return nil end,
  exit = unavailable("os.exit"), execute = unavailable("os.execute"),
  remove = unavailable("os.remove"), rename = unavailable("os.rename"),
  tmpname = unavailable("os.tmpname"),
}
G.os = os_t; loaded.os = os_t
local io_t = {write = function(...) return nil end}
G.io = io_t; loaded.io = io_t
local dbg_t = {getmetatable = dbg.getmetatable, setmetatable = dbg.setmetatable,
  getuservalue = dbg.getuservalue, setuservalue = dbg.setuservalue,
  traceback = function(m) return m end}
G.debug = dbg_t; loaded.debug = dbg_t
local pkg = {loaded = loaded, preload = {}, path = "?.lua", config = "/\n;\n?\n!\n-\n"}
G.package = pkg; loaded.package = pkg
function G.require(name)
  local l = loaded[name]
  if l ~= nil then return l end
  local pre = pkg.preload[name]
  if pre ~= nil then
    local r = pre(name)
    if r == nil then r = true end
    loaded[name] = r
    return r
  end
  raw_error("module '" .. tostr(name) .. "' not found", 0)
end
G.python = nil; loaded.python = nil

-- ---- bit32 (Luerl has it; Lua 5.3 does not) ----
local M32 = 0xFFFFFFFF
local function u32(x) return math_floor(x) & M32 end
local bit32 = {}
function bit32.band(...) local r = M32; for i = 1, raw_select('#', ...) do r = r & u32(raw_select(i, ...)) end; return r end
function bit32.bor(...) local r = 0; for i = 1, raw_select('#', ...) do r = r | u32(raw_select(i, ...)) end; return r end
function bit32.bxor(...) local r = 0; for i = 1, raw_select('#', ...) do r = r ~ u32(raw_select(i, ...)) end; return r end
function bit32.btest(...) return bit32.band(...) ~= 0 end
function bit32.bnot(x) return (~u32(x)) & M32 end
function bit32.lshift(x, n) if n < 0 then return bit32.rshift(x, -n) end; if n >= 32 then return 0 end; return (u32(x) << n) & M32 end
function bit32.rshift(x, n) if n < 0 then return bit32.lshift(x, -n) end; if n >= 32 then return 0 end; return u32(x) >> n end
function bit32.arshift(x, n)
  x = u32(x)
  if n <= 0 then return bit32.lshift(x, -n) end
  if x & 0x80000000 == 0 then return bit32.rshift(x, n) end
  if n >= 32 then return M32 end
  return ((x >> n) | (M32 << (32 - n))) & M32
end
function bit32.lrotate(x, n) x = u32(x); n = n % 32; return ((x << n) | (x >> (32 - n))) & M32 end
function bit32.rrotate(x, n) return bit32.lrotate(x, -n) end
function bit32.extract(x, f, w)
  w = w or 1
  if f < 0 or w <= 0 or f + w > 32 then raw_error("bad argument to 'extract' (trying to access non-existent bits)", 0) end
  return (u32(x) >> f) & ((1 << w) - 1)
end
function bit32.replace(x, v, f, w)
  w = w or 1
  if f < 0 or w <= 0 or f + w > 32 then raw_error("bad argument to 'replace' (trying to access non-existent bits)", 0) end
  local m = ((1 << w) - 1) << f
  return (u32(x) & ~m | ((u32(v) << f) & m)) & M32
end
G.bit32 = bit32; loaded.bit32 = bit32


-- ---- checkpoints (docs/lua.md "Restart"): the heap reachable from _G, package.loaded and the
-- string metatable, as a binary. Objects that existed right after init (marked by ctl.mark:
-- library and module functions, host functions, their tables) are named by their place in a
-- deterministic walk; a fresh state initialised the same way has them at the same places.
-- Tables are written by content (known ones are refilled in place); functions created later
-- are string.dump'ed; every Lua function's upvalues are written (shared cells joined again). ----
local getupvalue, setupvalue, upvalueid, upvaluejoin, getinfo =
  dbg.getupvalue, dbg.setupvalue, dbg.upvalueid, dbg.upvaluejoin, dbg.getinfo
local known, known_idx = nil, nil
local function roots() return {G, loaded, dbg_getmetatable("")} end
local function is_lua(f) return getinfo(f, "S").what ~= "C" end

local function inventory()
  local list, idx = {}, {}
  local stack, sp = {roots()}, 1
  local function visit(v)
    local t = raw_type(v)
    if (t == "table" or t == "function" or t == "userdata") and idx[v] == nil then
      list[#list + 1] = v; idx[v] = #list
      sp = sp + 1; stack[sp] = v
    end
  end
  idx[stack[1]] = 0
  while sp > 0 do
    local o = stack[sp]; stack[sp] = nil; sp = sp - 1
    local t = raw_type(o)
    if t == "table" then
      local ks = sorted_keys(o)
      for q = #ks, 1, -1 do visit(raw_rawget(o, ks[q])); visit(ks[q]) end
      visit(dbg_getmetatable(o))
    elseif t == "function" and is_lua(o) then
      local n = getinfo(o, "u").nups
      for q = n, 1, -1 do local _, v = getupvalue(o, q); visit(v) end
    end
  end
  return list, idx
end

local function ctl_mark_impl() known, known_idx = inventory() end

local function save()
  if known == nil then raw_error("state not marked", 0) end
  raw_gc("collect")
  local new, new_idx = {}, {}
  local order = {}
  local stack, sp = {}, 0
  local seen = {}
  local function visit(v)
    local t = raw_type(v)
    if (t == "table" or t == "function" or t == "userdata") and not seen[v] then
      seen[v] = true
      if known_idx[v] == nil then
        if t == "userdata" or (t == "function" and not is_lua(v)) then
          raw_error("cannot checkpoint a " .. t .. " created after init", 0)
        end
        new[#new + 1] = v; new_idx[v] = #new
      end
      order[#order + 1] = v
      sp = sp + 1; stack[sp] = v
    end
  end
  for _, r in raw_next, roots() do visit(r) end
  while sp > 0 do
    local o = stack[sp]; stack[sp] = nil; sp = sp - 1
    local t = raw_type(o)
    if t == "table" then
      for k, v in raw_next, o do visit(k); visit(v) end
      visit(dbg_getmetatable(o))
    elseif t == "function" and is_lua(o) then
      for q = 1, getinfo(o, "u").nups do local _, v = getupvalue(o, q); visit(v) end
    end
  end
  local out, n = {"HBLUA1"}, 1
  local strs, ns = {}, 0
  local function put(x) n = n + 1; out[n] = x end
  local function val(v)
    local t = raw_type(v)
    if v == nil then put("n")
    elseif v == true then put("T") elseif v == false then put("F")
    elseif t == "number" then
      if math_type(v) == "integer" then put("i" .. str_pack("<j", v)) else put("d" .. str_pack("<n", v)) end
    elseif t == "string" then
      local si = strs[v]
      if si then put("S" .. str_pack("<I4", si)) else ns = ns + 1; strs[v] = ns; put("s" .. str_pack("<s4", v)) end
    else
      local ki = known_idx[v]
      if ki ~= nil then put("k" .. str_pack("<I4", ki)) else put("o" .. str_pack("<I4", new_idx[v])) end
    end
  end
  put(str_pack("<I4", #new))
  for q = 1, #new do
    local o = new[q]
    if raw_type(o) == "table" then put("t") else put("f" .. str_pack("<s4", str_dump(o))) end
  end
  -- upvalue cells: the first (function, index) seen holding each cell
  local cells = {}
  for q = 1, #known do
    local f = known[q]
    if raw_type(f) == "function" and is_lua(f) then
      for u = 1, getinfo(f, "u").nups do
        local id = upvalueid(f, u)
        if cells[id] == nil then cells[id] = {f, u} end
      end
    end
  end
  for q = 1, #order do
    local o = order[q]
    local t = raw_type(o)
    if t == "table" then
      put("T"); val(o)
      local c = 0
      for _ in raw_next, o do c = c + 1 end
      put(str_pack("<I4", c))
      for k, v in raw_next, o do val(k); val(v) end
      val(dbg_getmetatable(o))
    elseif t == "function" and is_lua(o) then
      local nu = getinfo(o, "u").nups
      put("U"); val(o); put(str_pack("<I4", nu))
      for u = 1, nu do
        local id = upvalueid(o, u)
        local c = cells[id]
        if c ~= nil and (c[1] ~= o or c[2] ~= u) then
          put("j"); val(c[1]); put(str_pack("<I4", c[2]))
        else
          if c == nil then cells[id] = {o, u} end
          local _, v = getupvalue(o, u)
          put("v"); val(v)
        end
      end
    end
  end
  put("E")
  return raw_concat(out)
end

local function restore(s)
  if known == nil then raw_error("state not marked", 0) end
  if str_sub(s, 1, 6) ~= "HBLUA1" then raw_error("not a lua@5.3a checkpoint", 0) end
  local pos = 7
  local strs, ns = {}, 0
  local new = {}
  local function u32() local v; v, pos = str_unpack("<I4", s, pos); return v end
  local function val()
    local tag = str_sub(s, pos, pos); pos = pos + 1
    if tag == "n" then return nil elseif tag == "T" then return true elseif tag == "F" then return false
    elseif tag == "i" then local v; v, pos = str_unpack("<j", s, pos); return v
    elseif tag == "d" then local v; v, pos = str_unpack("<n", s, pos); return v
    elseif tag == "s" then local v; v, pos = str_unpack("<s4", s, pos); ns = ns + 1; strs[ns] = v; return v
    elseif tag == "S" then return strs[u32()]
    elseif tag == "k" then local i = u32(); local o = known[i]; if o == nil then raw_error("checkpoint does not fit this module", 0) end; return o
    elseif tag == "o" then return new[u32()]
    end
    raw_error("bad checkpoint tag " .. tag, 0)
  end
  local count = u32()
  for q = 1, count do
    local tag = str_sub(s, pos, pos); pos = pos + 1
    if tag == "t" then new[q] = {}
    elseif tag == "f" then
      local code; code, pos = str_unpack("<s4", s, pos)
      local f, e = raw_load(code, "=checkpoint", "b")
      if f == nil then raw_error("checkpoint function does not load: " .. tostr(e), 0) end
      new[q] = f
    else raw_error("bad checkpoint object " .. tag, 0) end
  end
  local joins = {}
  while true do
    local tag = str_sub(s, pos, pos); pos = pos + 1
    if tag == "E" then break
    elseif tag == "T" then
      local t = val()
      if known_idx[t] ~= nil then
        raw_setmetatable(t, nil)
        local ks = {}
        for k in raw_next, t do ks[#ks + 1] = k end
        for q = 1, #ks do raw_rawset(t, ks[q], nil) end
      end
      local c = u32()
      for _ = 1, c do local k = val(); local v = val(); raw_rawset(t, k, v) end
      local mt = val()
      dbg.setmetatable(t, mt)
    elseif tag == "U" then
      local f = val()
      local nu = u32()
      for u = 1, nu do
        local how = str_sub(s, pos, pos); pos = pos + 1
        if how == "j" then
          local g = val(); local gu = u32()
          joins[#joins + 1] = {f, u, g, gu}
        else
          setupvalue(f, u, val())
        end
      end
    else raw_error("bad checkpoint record " .. tag, 0) end
  end
  for q = 1, #joins do
    local j = joins[q]
    if upvalueid(j[1], j[2]) ~= upvalueid(j[3], j[4]) then upvaluejoin(j[1], j[2], j[3], j[4]) end
  end
end


-- ---- messages across the host boundary: MessagePack both ways (docs/lua.md "Conversion").
-- Host -> Lua: maps keyed "1".."n" become arrays, nil becomes "null" (dev_lua:encode).
-- Lua -> host: tables keyed 1..n are arrays, empty tables empty arrays, other keys in Luerl
-- order as text; functions and userdata are left out (dev_lua:decode). ----
local MAXDEPTH = 100
local mp_encode_n
local function mp_decode(s)
  local pos = 1
  local val
  local function seq(n, depth)
    local t = {}
    for q = 1, n do t[q] = val(depth) end
    return t
  end
  local function map(n, depth)
    local t, ordered = {}, n > 0
    for q = 1, n do
      local k = val(depth)
      local v = val(depth)
      if v == nil then v = "null" end
      t[k] = v
      if ordered and not (raw_type(k) == "string" and raw_tonumber(k) ~= nil and math_type(raw_tonumber(k)) == "integer") then ordered = false end
    end
    if ordered then
      local a = {}
      for q = 1, n do
        local v = raw_rawget(t, raw_tostring(q))
        if v == nil then return t end
        a[q] = v
      end
      return a
    end
    return t
  end
  val = function(depth)
    if depth > MAXDEPTH then raw_error("message too deep for Lua", 0) end
    local b = str_byte(s, pos)
    pos = pos + 1
    if b < 0x80 then return b
    elseif b >= 0xe0 then return b - 0x100
    elseif b >= 0xa0 and b <= 0xbf then local v = str_sub(s, pos, pos + b - 0xa1); pos = pos + b - 0xa0; return v
    elseif b >= 0x90 and b <= 0x9f then return seq(b - 0x90, depth + 1)
    elseif b >= 0x80 and b <= 0x8f then return map(b - 0x80, depth + 1)
    elseif b == 0xc0 then return "null"
    elseif b == 0xc2 then return false
    elseif b == 0xc3 then return true
    end
    local v
    if b == 0xd9 or b == 0xc4 then v, pos = str_unpack("s1", s, pos)
    elseif b == 0xda or b == 0xc5 then v, pos = str_unpack(">s2", s, pos)
    elseif b == 0xdb or b == 0xc6 then v, pos = str_unpack(">s4", s, pos)
    elseif b == 0xcc then v, pos = str_unpack("B", s, pos)
    elseif b == 0xcd then v, pos = str_unpack(">I2", s, pos)
    elseif b == 0xce then v, pos = str_unpack(">I4", s, pos)
    elseif b == 0xcf then  -- uint64: past math.maxinteger it is its text (no bignums)
      local hi, lo
      hi, lo, pos = str_unpack(">I4I4", s, pos)
      if hi < 0x80000000 then v = (hi << 32) | lo
      else
        local digits = {}
        while hi > 0 or lo > 0 do
          local r = hi % 10
          hi = hi // 10
          local cur = r * 0x100000000 + lo
          lo = cur // 10
          digits[#digits + 1] = cur % 10
        end
        for q = 1, #digits // 2 do digits[q], digits[#digits + 1 - q] = digits[#digits + 1 - q], digits[q] end
        v = raw_concat(digits)
      end
    elseif b == 0xd0 then v, pos = str_unpack("b", s, pos)
    elseif b == 0xd1 then v, pos = str_unpack(">i2", s, pos)
    elseif b == 0xd2 then v, pos = str_unpack(">i4", s, pos)
    elseif b == 0xd3 then v, pos = str_unpack(">i8", s, pos)
    elseif b == 0xcb then v, pos = str_unpack(">d", s, pos)
    elseif b == 0xca then v, pos = str_unpack(">f", s, pos)
    elseif b == 0xdc then local n; n, pos = str_unpack(">I2", s, pos); return seq(n, depth + 1)
    elseif b == 0xdd then local n; n, pos = str_unpack(">I4", s, pos); return seq(n, depth + 1)
    elseif b == 0xde then local n; n, pos = str_unpack(">I2", s, pos); return map(n, depth + 1)
    elseif b == 0xdf then local n; n, pos = str_unpack(">I4", s, pos); return map(n, depth + 1)
    else raw_error("bad message encoding", 0) end
    return v
  end
  return val(0)
end

local function mp_encode(v)
  local out, n = {}, 0
  local function str(x)
    local len = #x
    if utf8_len(x) then
      if len < 32 then n = n + 1; out[n] = str_pack("B", 0xa0 + len)
      elseif len < 256 then n = n + 1; out[n] = str_pack("Bs1", 0xd9, x); return
      elseif len < 65536 then n = n + 1; out[n] = str_pack(">Bs2", 0xda, x); return
      else n = n + 1; out[n] = str_pack(">Bs4", 0xdb, x); return end
      n = n + 1; out[n] = x
    else
      if len < 256 then n = n + 1; out[n] = str_pack("Bs1", 0xc4, x)
      elseif len < 65536 then n = n + 1; out[n] = str_pack(">Bs2", 0xc5, x)
      else n = n + 1; out[n] = str_pack(">Bs4", 0xc6, x) end
    end
  end
  local enc
  enc = function(x, depth)
    local t = raw_type(x)
    if t == "string" then str(x)
    elseif t == "number" then
      n = n + 1
      if math_type(x) == "integer" then out[n] = str_pack(">Bi8", 0xd3, x) else out[n] = str_pack(">Bd", 0xcb, x) end
    elseif t == "boolean" then n = n + 1; out[n] = x and "\xc3" or "\xc2"
    elseif t == "table" then
      if depth > MAXDEPTH then raw_error("Lua value too deep (or cyclic) to convert", 0) end
      local m = 0
      while raw_rawget(x, m + 1) ~= nil do m = m + 1 end
      local total, strs = 0, true
      for k, w in raw_next, x do
        local wt = raw_type(w)
        if wt ~= "function" and wt ~= "userdata" and wt ~= "thread" then
          total = total + 1
          if raw_type(k) ~= "string" then strs = false end
        end
      end
      if m > 0 and total == m then
        n = n + 1; out[n] = str_pack(">BI4", 0xdd, m)
        for q = 1, m do
          local w = raw_rawget(x, q)
          local wt = raw_type(w)
          if wt == "function" or wt == "userdata" or wt == "thread" then n = n + 1; out[n] = "\xc0"
          else enc(w, depth + 1) end
        end
      elseif total == 0 then
        n = n + 1; out[n] = "\x90"
      else
        local keys, c = {}, 0
        for k, w in raw_next, x do
          local wt = raw_type(w)
          if wt ~= "function" and wt ~= "userdata" and wt ~= "thread" then c = c + 1; keys[c] = k end
        end
        if strs then raw_sort(keys) else raw_sort(keys, key_less) end
        n = n + 1; out[n] = str_pack(">BI4", 0xdf, c)
        for q = 1, c do
          local k = keys[q]
          if raw_type(k) == "string" then str(k) else str(tostr(k)) end
          enc(raw_rawget(x, k), depth + 1)
        end
      end
    else
      n = n + 1; out[n] = "\xc0"
    end
  end
  enc(v, 0)
  return raw_concat(out)
end
-- A list of n values (nils kept as nil) packed as an array.
mp_encode_n = function(t, cnt)
  local parts = {str_pack(">BI4", 0xdd, cnt)}
  for q = 1, cnt do parts[q + 1] = mp_encode(t[q]) end
  return raw_concat(parts)
end

-- ---- host controls, returned to Python only ----
local ctl = {}
function ctl.begin(n) steps, budget, tripped = 0, n, nil end
function ctl.tripped() return tripped end
function ctl.steps() return steps end
function ctl.wrap(f) return function(...) return f(...) end end
ctl.tostring = tostr
ctl.decode = mp_decode
ctl.encode = mp_encode
-- Call global ``name`` with the arguments packed in ``args``: (true, n, results) or
-- (false, error value), all packed.
function ctl.invoke(name, args)
  local a = mp_decode(args)
  local f = G[name]
  if f == nil then
    return false, mp_encode("attempt to call a nil value (global '" .. name .. "')")
  end
  local r = pack(raw_pcall(f, tbl_unpack(a, 1, #a)))
  if not r[1] then
    if fatal(r[2]) then raw_error(tripped, 0) end
    return false, mp_encode(r[2])
  end
  local t = {}
  for q = 2, r.n do t[q - 1] = r[q] end
  return true, r.n - 1, mp_encode_n(t, r.n - 1)
end
-- The same with the arguments as a table of values (built by the host with lupa's table_from)
-- and the results as a table (read by the host raw): (true, n, results) or (false, error value
-- packed).
function ctl.invoke_t(name, a)
  local f = G[name]
  if f == nil then
    return false, mp_encode("attempt to call a nil value (global '" .. name .. "')")
  end
  local r = pack(raw_pcall(f, tbl_unpack(a, 1, #a)))
  if not r[1] then
    if fatal(r[2]) then raw_error(tripped, 0) end
    return false, mp_encode(r[2])
  end
  local t = {}
  for q = 2, r.n do t[q - 1] = r[q] end
  return true, r.n - 1, t
end
-- Wrap a host function: it gets its arguments packed and returns packed results (or raises).
function ctl.host(f)
  return function(...)
    local n = raw_select("#", ...)
    local ok, res = f(mp_encode_n({...}, n))
    if not ok then raw_error(res, 0) end
    local r = mp_decode(res)
    return tbl_unpack(r, 1, #r)
  end
end
ctl.objid = objid
ctl.sorted_keys = sorted_keys
ctl.mark = ctl_mark_impl
ctl.save = save
ctl.restore = restore
return ctl

-- POST /register with a new username on every request:
-- PREFIX_<thread id>_<counter>, all with the same (strong) password.
-- Arguments (after wrk's "--"): PREFIX PASSWORD.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local report = dofile(dir .. "report.lua")

setup = report.setup
done = report.done
response = report.count_status

local prefix, password
local counter = 0
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  prefix, password = args[1], args[2]
  assert(prefix and password, "usage: register.lua -- PREFIX PASSWORD")
  assert(not (prefix .. password):find('[\\"]'), "no quotes or backslashes, please")
end

function request()
  counter = counter + 1
  -- `id` is set on this thread by setup() (thread:set).
  local username = prefix .. "_" .. id .. "_" .. counter
  return wrk.format("POST", "/register", headers,
    '{"username":"' .. username .. '","password":"' .. password .. '"}')
end

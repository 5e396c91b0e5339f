-- POST /login with one user's correct password on every request.
-- Arguments (after wrk's "--"): USERNAME PASSWORD.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local report = dofile(dir .. "report.lua")

setup = report.setup
done = report.done
response = report.count_status

function init(args)
  local username, password = args[1], args[2]
  assert(username and password, "usage: login.lua -- USERNAME PASSWORD")
  assert(not (username .. password):find('[\\"]'), "no quotes or backslashes, please")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = '{"username":"' .. username .. '","password":"' .. password .. '"}'
end

-- POST /register with one name that is already taken, on every request:
-- the registration flood of a client that cannot succeed (each answer is
-- 409 username_taken, decided before any hashing). The same body as
-- login.lua: {"username","password"}, the password a strong one.
-- Arguments (after wrk's "--"): USERNAME PASSWORD.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local report = dofile(dir .. "report.lua")

setup = report.setup
done = report.done
response = report.count_status

function init(args)
  local username, password = args[1], args[2]
  assert(username and password, "usage: register_taken.lua -- USERNAME PASSWORD")
  assert(not (username .. password):find('[\\"]'), "no quotes or backslashes, please")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = '{"username":"' .. username .. '","password":"' .. password .. '"}'
end

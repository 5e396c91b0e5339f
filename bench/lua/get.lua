-- GET at full speed (the HTTP ceiling and /protected): no per-request Lua,
-- only the summary line. Headers (Authorization) come from wrk -H.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local report = dofile(dir .. "report.lua")

setup = report.setup
done = report.done

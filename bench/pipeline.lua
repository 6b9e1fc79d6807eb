-- pipeline.lua: wrk script that writes DEPTH GET requests at once
-- (default 16), so each write carries a pipeline of requests.  wrk
-- counts every response, so Requests/sec stays comparable with plain runs.
--   wrk -s bench/pipeline.lua http://127.0.0.1:PORT/ -- 16
local batch

function init(args)
	local depth = tonumber(args[1] or "16")
	local reqs = {}
	for i = 1, depth do
		reqs[#reqs + 1] = wrk.format("GET", "/")
	end
	batch = table.concat(reqs)
end

function request()
	return batch
end

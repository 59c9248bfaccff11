-- A fresh bearer token per request: `wrk ... -s script.lua URL -- TOKENS_FILE OFFSET`.
-- Reads the pre-minted tokens from line OFFSET+1 on (one per line) and never reuses one until the
-- file is exhausted (then it wraps; the harness reports how many were used).
local tokens = {}
local n = 0
local i = 0

function init(args)
  local path, offset = args[1], tonumber(args[2] or "0")
  local all = {}
  for line in io.lines(path) do all[#all + 1] = line end
  local total = #all
  offset = offset % total
  for k = offset + 1, total do n = n + 1; tokens[n] = all[k] end
  for k = 1, offset do n = n + 1; tokens[n] = all[k] end
end

function request()
  i = i + 1
  if i > n then i = 1 end
  local h = {}
  for k, v in pairs(wrk.headers) do h[k] = v end
  h["Authorization"] = "Bearer " .. tokens[i]
  return wrk.format(nil, nil, h, wrk.body)
end

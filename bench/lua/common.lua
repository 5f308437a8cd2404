-- Shared by every scenario script (the bench prepends it).
-- Each wrk thread gets an id, reads the lines of args[1] (tokens, emails), and
-- walks its own stride of them (args[2] = the number of threads), so two
-- threads never send the same single-use refresh token.

local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

lines = {}
stride = 1
next_line = 1

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then lines[#lines + 1] = line end
  end
  stride = tonumber(args[2]) or 1
  next_line = (tid or 0) % #lines + 1
end

-- The next line of this thread's share, wrapping around at the end.
function take()
  local line = lines[next_line]
  next_line = next_line + stride
  if next_line > #lines then next_line = (tid or 0) % #lines + 1 end
  return line
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d connect=%d read=%d write=%d status=%d timeout=%d p50_us=%.0f p99_us=%.0f\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end

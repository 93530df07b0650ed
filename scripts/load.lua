-- wrk script for scripts/load.sh: POST one classify request of 4 texts.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"texts": ["how to sort a dictionary by value in python", "the central bank raised interest rates again", "football league results and match highlights", "新款手机发布 性能提升明显"]}'

-- Count non-200 answers as errors in the summary line.
local bad = 0
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  io.write(string.format("LOAD requests=%d duration_s=%.2f rps=%.1f p50_ms=%.2f p99_ms=%.2f socket_errors=%d non200=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end

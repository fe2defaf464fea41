-- wrk script: POST the same ~4 KB AdmissionReview (a Job pod) to /mutate over keep-alive connections.
-- Usage: see docs/benchmarks.md ("Webhook"). The body is read from the file named by WEBHOOK_REVIEW.
local f = assert(io.open(os.getenv("WEBHOOK_REVIEW") or "review.json", "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.path = "/mutate?timeout=5s"

local non200 = 0
function response(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end

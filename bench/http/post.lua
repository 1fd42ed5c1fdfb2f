wrk.method = "POST"
wrk.body = '{"sku":"ABC-1234","quantity":3,"note":"leave at the door"}'
wrk.headers["Content-Type"] = "application/json"

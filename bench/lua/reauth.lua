-- POST /api/users/reauth, each request with a refresh token never used before
-- (one rotation each); the pool is sized so that it does not run out.
function request()
  return wrk.format("POST", "/api/users/reauth", { ["Cookie"] = "refreshTkn=" .. take() })
end

-- GET /api/users/me, cycling through the seeded sessions' access tokens.
function request()
  return wrk.format("GET", "/api/users/me", { ["Authorization"] = "Bearer " .. take() })
end

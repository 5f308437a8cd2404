-- POST /api/users/login, cycling through the seeded accounts (right password).
function request()
  local body = '{"email":"' .. take() .. '","password":"' .. PASSWORD .. '"}'
  return wrk.format("POST", "/api/users/login", { ["Content-Type"] = "application/json" }, body)
end

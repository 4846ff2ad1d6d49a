-- A user by id: a table, or `nil, err` for an unknown one.
local function main(id)
    if id == 42 then
        return { name = "Alice", id = id }
    end
    return nil, errors.new("NOT_FOUND", "no user " .. tostring(id))
end

return { main = main }

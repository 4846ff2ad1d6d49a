-- Ends as told: returns a value, returns a value with an error, or raises.
local function main(how: string, a, b)
    if how == "value" then
        return a
    elseif how == "nothing" then
        return
    elseif how == "pair" then
        return a, b
    elseif how == "raise" then
        error(a)
    elseif how == "raise_plain" then
        error(a, 0)
    elseif how == "raise_object" then
        error(errors.new(errors.NOT_FOUND, a))
    elseif how == "return_object" then
        return nil, errors.new(errors.INVALID, a)
    end
    return nil, "unknown mode " .. tostring(how)
end

return { main = main }

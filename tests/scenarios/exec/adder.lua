-- Returns the sum of its arguments, adding the tail with a nested exec of itself.
local function main(first: number?, ...)
    if first == nil then
        return 0
    end
    if select("#", ...) == 0 then
        return first
    end
    local rest, err = process.exec("app:adder", "app:procs", ...)
    if err then
        return nil, err
    end
    return first + rest
end

return { main = main }

-- A well-behaved tenant: sums 1..n in steps (loops are safepoints, so it is metered too) and returns it.
local function main(n: number)
    local sum = 0
    for i = 1, n do
        sum += i
    end
    return sum
end

return { main = main }

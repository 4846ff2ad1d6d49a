-- Sums 1..n.
local function main(n: number)
    local sum = 0
    for i = 1, n do sum += i end
    return sum
end

return { main = main }

-- A well-behaved tenant: checks that its globals are its own and intact (no attacker on the VM reached them),
-- then sums 1..n in steps (loops are safepoints, so it is metered too) and returns it.
local function main(n: number)
    assert(pwned == nil, "the neighbour sees no attacker's global")
    assert(tostring(12) == "12" and string.rep("ab", 2) == "abab", "the neighbour's libraries are intact")
    assert(string.upper("a") == "A" and ("a"):upper() == "A", "the string metatable is intact")
    assert(type(table.insert) == "function" and type(print) == "function", "the base library is intact")
    local sum = 0
    for i = 1, n do
        sum += i
    end
    return sum
end

return { main = main }

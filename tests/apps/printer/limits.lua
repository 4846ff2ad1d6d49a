-- One line over the print line bound, then 1000 numbered lines at once (over the burst).
local function main()
    print(string.rep("x", 10000))
    for i = 1, 1000 do
        print("n", i)
    end
    return "done"
end

return { main = main }
